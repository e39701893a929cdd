"""The Python examples of the README and of docs/engine.md and docs/language.md run as written (in a scratch folder)."""
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("doc", ["README.md", "docs/engine.md", "docs/language.md"])
def test_python_examples_run(doc, tmp_path, monkeypatch):
    text = (ROOT / doc).read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    runnable = blocks                        # sketches that are not meant to run are ```text blocks
    assert runnable, f"{doc}: no runnable python example found"
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in runnable:
        exec(compile(block, f"{doc} example", "exec"), namespace)        # noqa: S102 - our own docs
