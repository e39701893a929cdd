"""The command line's small promises: --version, --debug, a broken task module, data discovery, and
the user-facing defects found by a new user (predict before fit, summary, echo's picture)."""
import subprocess
import sys
import types

import numpy as np
import pytest

import rnnlab
from rnnlab import tasks
from rnnlab.cli import main
from rnnlab.data import paths
from rnnlab.errors import DataNotFoundError, InputError


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"rnnlab {rnnlab.__version__}"


def test_python_dash_m_version_and_one_line_errors(tmp_path):
    done = subprocess.run([sys.executable, "-m", "rnnlab", "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == f"rnnlab {rnnlab.__version__}"
    (tmp_path / "file").write_text("x")
    args = [sys.executable, "-m", "rnnlab", "run", "echo", "--resume", str(tmp_path / "file")]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "config.json" in done.stderr
    done = subprocess.run(args + ["--debug"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" in done.stderr


def test_a_broken_task_module_does_not_break_the_others(monkeypatch, capsys, tmp_path):
    broken = types.ModuleType("rnnlab_test_broken_task")           # a module without SUMMARY
    monkeypatch.setitem(sys.modules, "rnnlab_test_broken_task", broken)
    monkeypatch.setitem(tasks.TASKS, "broken", "rnnlab_test_broken_task")
    monkeypatch.setitem(tasks.TASKS, "crashes", "rnnlab_test_no_such_module.sub")
    monkeypatch.setitem(tasks.TASKS, "raises", "rnnlab.tasks._test_raises")
    (tmp_path / "rnnlab_test_crash").mkdir()
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    listed = {line.split()[0]: line for line in out.splitlines()}
    assert listed["echo"].startswith("echo ") and "unavailable" not in listed["echo"]
    assert "unavailable" in listed["broken"] and "task contract" in listed["broken"]
    assert "unavailable" in listed["crashes"] and "rnnlab_test_no_such_module" in listed["crashes"]
    assert "unavailable" in listed["raises"]
    assert main(["run", "echo", "--epochs", "1", "--samples", "200", "--quiet", "--out", str(tmp_path / "e")]) == 0
    with pytest.raises(InputError, match="task 'broken' is unavailable"):
        tasks.get_task("broken")


def test_a_task_module_raising_on_import_is_reported(monkeypatch, tmp_path):
    pkg = tmp_path / "rnnlab_test_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("raise RuntimeError('bad import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(tasks.TASKS, "bad", "rnnlab_test_pkg")
    assert "bad" not in tasks.available()
    assert "RuntimeError: bad import" in tasks.unavailable()["bad"]


def test_predict_before_fit_is_refused_but_built_or_loaded_models_predict(tmp_path):
    x = np.zeros((2, 3, 4), np.float32)
    lazy = rnnlab.Sequential([rnnlab.GRU(5), rnnlab.Dense(2)])
    with pytest.raises(InputError, match="not been trained or built.*model.fit"):
        lazy.predict(x)
    assert not lazy.built                                           # and nothing was built by the attempt
    built = rnnlab.Sequential([rnnlab.GRU(5), rnnlab.Dense(2)], input_size=4)
    assert built.predict(x).shape == (2, 2)                          # explicitly built: on purpose
    built.save(tmp_path / "m")
    loaded = rnnlab.load(tmp_path / "m")
    assert np.array_equal(loaded.predict(x), built.predict(x))
    lazy.compile(loss="mse")
    lazy.fit(x, np.zeros((2, 2)), epochs=1, verbose=0)
    assert lazy.predict(x).shape == (2, 2)


def test_summary_never_cuts_a_description():
    inner = rnnlab.LSTM(8, return_sequences=True)
    m = rnnlab.Sequential([rnnlab.Bidirectional(inner), rnnlab.GRU(6), rnnlab.Dense(3)], input_size=4)
    width = 60
    lines = rnnlab.Model.summary(m, width=width).splitlines()
    rows: list[list[str]] = []
    for line in lines[1:-1]:
        if line.startswith("layers."):                       # a row: description, output, params
            assert len(line) == len(lines[0])                # the columns stay aligned
            rows.append([line[:width].rstrip()])
        else:                                                # its continuation lines
            rows[-1].append(line.strip())
    assert len(rows) == 3
    for i, row in enumerate(rows):
        assert " ".join(row) == f"layers.{i} {m.layers[i]!r}"   # whole: nothing cut
        assert all(len(part) <= width for part in row)


def test_echo_picture_draws_each_test_sequence_on_its_own(tmp_path, monkeypatch):
    from rnnlab import viz
    figures = []
    monkeypatch.setattr(viz, "save_figure", lambda fig, path, dpi=110: figures.append(fig))
    target = np.linspace(0, 1, 100)
    viz.plot_independent(tmp_path / "p.png", target, target + 0.1, "t", shown=60, inputs={"x": target})
    (ax, ax2), = [f.axes for f in figures]
    for line in ax.get_lines():                                     # markers only, never a joined line
        assert line.get_linestyle() in ("None", "none", "") and len(line.get_xdata()) == 60
    assert len(ax.collections[0].get_segments()) == 60              # one error segment per sequence


def test_data_discovery_fallbacks_and_override(tmp_path, monkeypatch):
    monkeypatch.delenv("RNNLAB_DATA", raising=False)
    monkeypatch.delenv(paths.FALLBACKS_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shared" / "data" / "ucr").mkdir(parents=True)
    (tmp_path / "shared" / "data" / "ucr" / "X_TRAIN.ts").write_text("x")
    assert paths.find_data_file("ucr/X_TRAIN.ts") == tmp_path / "shared" / "data" / "ucr" / "X_TRAIN.ts"
    assert tmp_path / "shared" / "data" in paths.data_dirs()
    other = tmp_path / "other"
    (other / "ucr").mkdir(parents=True)
    (other / "ucr" / "X_TRAIN.ts").write_text("y")
    with paths.data_dir_override(other):                            # rnnlab run TASK --data DIR
        assert paths.find_data_file("ucr/X_TRAIN.ts") == other / "ucr" / "X_TRAIN.ts"
    monkeypatch.setenv(paths.FALLBACKS_VAR, "0")
    with pytest.raises(DataNotFoundError) as exc:
        paths.find_data_file("ucr/X_TRAIN.ts")
    assert "--data" in str(exc.value).splitlines()[0]
    with pytest.raises(DataNotFoundError, match="--data"):
        paths.find_data_file("ucr/X_TRAIN.ts", path=tmp_path / "nowhere")


def test_the_checkout_fallback_is_the_tests_one():
    from _datadir import data_dirs as tests_data_dirs
    assert tests_data_dirs is paths.data_dirs                        # one list for the CLI and the tests
    root = paths.checkout_dir()
    if root is not None:
        assert (root / "src" / "rnnlab" / "cli.py").is_file()
        if (root.parent / "shared" / "data").is_dir():
            assert root.parent / "shared" / "data" in paths.fallback_dirs() or \
                (root.parent / "shared" / "data").resolve() in [p.resolve() for p in paths.fallback_dirs()]


def test_cli_data_option_for_tasks_without_their_own(tmp_path, capsys):
    assert main(["run", "echo", "--data", str(tmp_path / "nowhere"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].endswith("argument --data: expected a folder holding the data files, got "
                            f"'{tmp_path / 'nowhere'}' (nothing there)")
