"""Save/load: exact round trip, atomic writes, and clear errors for missing, truncated or tampered files."""
import json

import numpy as np
import pytest

import rnnlab
from rnnlab.errors import ModelFileError


@pytest.fixture
def trained(tmp_path, rng):
    x = rng.random((64, 4, 2)).astype(np.float32)
    y = (x.sum(axis=(1, 2)) > 4).astype(np.float32)[:, None]
    m = rnnlab.Sequential([rnnlab.SimpleRNN(5, activation="relu", return_sequences=False), rnnlab.Dense(1)], seed=3)
    m.compile(loss="binary_crossentropy", optimizer="rmsprop", lr=0.01, metrics=["accuracy"])
    m.fit(x, y, epochs=2, batch_size=16, verbose=0)
    path = tmp_path / "model"
    m.save(path)
    return m, path, x, y


def test_round_trip_exact(trained):
    m, path, x, _ = trained
    m2 = rnnlab.load(path)
    np.testing.assert_array_equal(m.predict(x), m2.predict(x))
    assert m2.layers[0].get_config() == m.layers[0].get_config()
    assert m2.compiled_loss.name == "binary_crossentropy" and m2.metric_names == ["accuracy"]
    assert type(m2.optimizer).__name__ == "RMSprop"


def test_no_pickle(trained):
    _, path, _, _ = trained
    assert sorted(p.name for p in path.iterdir()) == ["model.json", "weights.safetensors"]
    json.loads((path / "model.json").read_text())
    assert not (path / "weights.safetensors").read_bytes().startswith(b"\x80")  # pickle protocol marker


def test_overwrite_keeps_a_valid_model(trained, rng):
    m, path, x, y = trained
    m.fit(x, y, epochs=1, verbose=0)
    m.save(path)
    np.testing.assert_array_equal(rnnlab.load(path).predict(x), m.predict(x))
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []


def test_missing(tmp_path):
    with pytest.raises(ModelFileError, match="no such model folder"):
        rnnlab.load(tmp_path / "nope")


def test_missing_weights(trained):
    _, path, _, _ = trained
    (path / "weights.safetensors").unlink()
    with pytest.raises(ModelFileError, match="weights.safetensors: missing"):
        rnnlab.load(path)


def test_truncated_weights(trained):
    _, path, _, _ = trained
    w = path / "weights.safetensors"
    w.write_bytes(w.read_bytes()[:-40])
    with pytest.raises(ModelFileError, match="truncated, corrupted or was changed"):
        rnnlab.load(path)


def test_tampered_weights(trained):
    _, path, _, _ = trained
    w = path / "weights.safetensors"
    data = bytearray(w.read_bytes())
    data[-1] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="SHA-256"):
        rnnlab.load(path)


def test_truncated_json(trained):
    _, path, _, _ = trained
    j = path / "model.json"
    j.write_text(j.read_text()[:50])
    with pytest.raises(ModelFileError, match="not valid JSON"):
        rnnlab.load(path)


def test_unknown_layer(trained):
    _, path, _, _ = trained
    j = path / "model.json"
    meta = json.loads(j.read_text())
    meta["model"]["layers"][0]["class"] = "Evil"
    j.write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="unknown layer class 'Evil'"):
        rnnlab.load(path)


def test_refuses_to_overwrite_foreign_folder(tmp_path, trained):
    m = trained[0]
    other = tmp_path / "photos"
    other.mkdir()
    (other / "cat.jpg").write_bytes(b"meow")
    with pytest.raises(ModelFileError, match="refusing to overwrite"):
        m.save(other)
    assert (other / "cat.jpg").read_bytes() == b"meow"


def test_unbuilt_model_cannot_be_saved(tmp_path):
    with pytest.raises(ModelFileError, match="not built"):
        rnnlab.Sequential([rnnlab.Dense(1)]).save(tmp_path / "m")


def test_model_json_records_format_version_class_and_every_tensor(trained):
    m, path, _, _ = trained
    meta = json.loads((path / "model.json").read_text())
    assert meta["format"] == "rnnlab-model" and meta["format_version"] == 2 and meta["class"] == "Sequential"
    assert meta["weights"]["tensors"] == {n: {"shape": list(p.shape), "dtype": "float32"}
                                          for n, p, _ in m.named_params()}
    assert meta["compile"]["loss"] == {"name": "binary_crossentropy"}


def test_a_tensor_of_the_wrong_shape_names_file_and_tensor(trained):
    """A weights file whose tensors do not fit the architecture is refused, even with a matching hash."""
    import hashlib
    from safetensors.numpy import save as st_save
    m, path, _, _ = trained
    w = m.get_weights()
    w["layers.1.weight"] = np.zeros((1, 7), np.float32)
    blob = st_save(w)
    (path / "weights.safetensors").write_bytes(blob)
    meta = json.loads((path / "model.json").read_text())
    meta["weights"]["sha256"] = hashlib.sha256(blob).hexdigest()
    meta["weights"]["tensors"]["layers.1.weight"]["shape"] = [1, 7]
    (path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match=r"weights.safetensors: weights do not fit .*layers\.1\.weight: "
                                             r"expected \(\[1, 5\], 'float32'\), file has \(\[1, 7\]"):
        rnnlab.load(path)


def test_optimizer_state_saved_on_request_and_training_continues_identically(trained, tmp_path):
    m, _, x, y = trained
    m.save(tmp_path / "with_opt", include_optimizer=True)
    back = rnnlab.load(tmp_path / "with_opt")
    assert (tmp_path / "with_opt" / "optimizer.safetensors").exists()
    m.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    back.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    for k, v in m.get_weights().items():
        np.testing.assert_array_equal(back.get_weights()[k], v)


def test_first_round_files_still_load(trained):
    """Format version 1 (first round: no class, compile inside the model config) is still read."""
    m, path, x, _ = trained
    meta = json.loads((path / "model.json").read_text())
    v1 = {"format": "rnnlab-model", "version": 1,
          "model": {**meta["model"], "compile": {"loss": "binary_crossentropy",
                                                 "optimizer": meta["compile"]["optimizer"], "metrics": ["accuracy"]}},
          "weights": meta["weights"]}
    (path / "model.json").write_text(json.dumps(v1))
    back = rnnlab.load(path)
    np.testing.assert_array_equal(back.predict(x), m.predict(x))
    assert back.compiled_loss.name == "binary_crossentropy"


def test_task_models_are_saved_by_full_name_and_files_import_only_rnnlab(tmp_path):
    """Model classes defined by a task (rnnlab.tasks...) are saved under their full name, which
    rnnlab.load imports in a fresh process; a file naming any other module is refused."""
    import subprocess
    import sys
    from rnnlab.registry import class_key, model_class
    from rnnlab.tasks.chorales.model import ChoraleModel
    assert class_key(ChoraleModel) == "rnnlab.tasks.chorales.model.ChoraleModel"
    assert class_key(rnnlab.TextModel) == "TextModel"
    code = "from rnnlab.registry import model_class; print(model_class('rnnlab.tasks.chorales.model.ChoraleModel'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and "ChoraleModel" in out.stdout, out.stderr
    code = ("import rnnlab, sys; m = rnnlab.load(sys.argv[1]); print(type(m).__module__)")
    path = tmp_path / "m"
    rnnlab.Sequential([rnnlab.Dense(1)], input_size=2).save(path)
    doc = __import__("json").loads((path / "model.json").read_text())
    doc["class"] = "os.system"                          # a file never makes rnnlab import other modules
    (path / "model.json").write_text(__import__("json").dumps(doc))
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True)
    assert out.returncode != 0 and "unknown model class 'os.system'" in out.stderr
