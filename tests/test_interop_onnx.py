"""ONNX export: ONNX Runtime equals rnnlab within 1e-5 for every cell and option, at batch sizes and
sequence lengths other than anything seen at export; onnx.checker passes on every file; trained
pm25 and mnist-rows models give the same predictions and metrics under both runtimes.

onnx and onnxruntime are test requirements: missing, the tests skip — except under $CI, where
they fail (like torch, see conftest.py)."""
from __future__ import annotations

import importlib
import itertools
import json
import os
import pathlib
import re

import numpy as np
import pytest

import rnnlab
from rnnlab import GRU, LSTM, Bidirectional, Dense, Dropout, Embedding, Sequential, SimpleRNN, TimePool
from rnnlab.data.text import Vocabulary
from rnnlab.errors import InputError
from rnnlab.interop.check import max_abs_diff, onnxruntime_output, onnxruntime_session, reference_output
from rnnlab.interop.onnx import export
from rnnlab.text_model import language_model

ROOT = pathlib.Path(__file__).resolve().parents[1]
TOL = 1e-5
F, H = 3, 5
SHAPES = [(2, 3), (7, 11)]             # (batch, time) at run time; export sees no data at all
CELLS = {"rnn": (SimpleRNN, {}), "lstm": (LSTM, {"forget_bias": 1.0}), "gru": (GRU, {}),
         "gru-reset-before": (GRU, {"reset_after": False})}


def need(name: str):
    """Import a test requirement: skip without it, fail under $CI."""
    try:
        return importlib.import_module(name)
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is required in CI (pip install -e '.[test]'); tests would be skipped, not run")
        pytest.skip(f"{name} is not installed")


@pytest.fixture
def onnx():
    need("onnxruntime")
    return need("onnx")


def lengths_for(batch: int, steps: int, seed: int = 0) -> np.ndarray:
    lengths = np.random.default_rng(seed).integers(1, steps + 1, batch)
    lengths[0] = steps
    return lengths


def inputs(model, batch: int, steps: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if model.takes_ids:
        return rng.integers(0, model.layers[0].vocab_size, (batch, steps))
    return rng.standard_normal((batch, steps, model.input_size)).astype(np.float32)


def check_export(onnx, model, path, lengths: bool, output: str = "auto", **kw) -> float:
    """Export, check the file, run it at every shape in SHAPES; the max |diff| to rnnlab (asserted ≤ TOL)."""
    export(model, path, lengths=lengths, output=output, **kw)
    onnx.checker.check_model(str(path), full_check=True)
    worst = 0.0
    session = onnxruntime_session(path)
    for batch, steps in SHAPES:
        x = inputs(model, batch, steps)
        lens = lengths_for(batch, steps) if lengths else None
        got = onnxruntime_output(session, x, lens)
        diff = max_abs_diff(got, reference_output(model, x, lens, output))
        assert diff <= TOL, (batch, steps, diff)
        worst = max(worst, diff)
    return worst


GRID = list(itertools.product(CELLS, [False, True], [1, 2], [False, True], [True, False]))


@pytest.mark.parametrize("cell, bidirectional, depth, lengths, return_sequences", GRID)
def test_onnxruntime_equals_rnnlab(onnx, tmp_path, cell, bidirectional, depth, lengths, return_sequences):
    cls, kw = CELLS[cell]
    layers = []
    for k in range(depth):
        layer = cls(H, return_sequences=return_sequences or k < depth - 1, **kw)
        layers.append(Bidirectional(layer) if bidirectional else layer)
    model = Sequential(layers + [Dense(2)], input_size=F, seed=7)
    check_export(onnx, model, tmp_path / "m.onnx", lengths)


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
@pytest.mark.parametrize("merge", ["concat", "sum", "mul", "ave"])
def test_activations_merges_and_go_backwards(onnx, tmp_path, activation, merge):
    model = Sequential([Bidirectional(SimpleRNN(H, activation=activation, return_sequences=True), merge=merge),
                        LSTM(H, go_backwards=True, return_sequences=True),
                        Bidirectional(GRU(H, reset_after=activation == "relu"), merge=merge), Dense(3)],
                       input_size=F, seed=1)
    check_export(onnx, model, tmp_path / "m.onnx", lengths=True)
    check_export(onnx, model, tmp_path / "m.onnx", lengths=False)


@pytest.mark.parametrize("mode", ["mean", "max"])
@pytest.mark.parametrize("opset", [17, 18])                  # Reduce* take their axes as an input from 18 on
def test_time_pool(onnx, tmp_path, mode, opset):
    model = Sequential([Embedding(9, 4), LSTM(H, return_sequences=True), TimePool(mode), Dense(1)], input_size=1, seed=4)
    model.compile(loss="binary_crossentropy")
    for lengths in (True, False):
        check_export(onnx, model, tmp_path / "m.onnx", lengths=lengths, opset=opset)


def test_gate_order_and_attributes_in_the_file(onnx, tmp_path):
    from onnx import numpy_helper
    model = Sequential([LSTM(H, return_sequences=True), GRU(H, reset_after=False, return_sequences=True),
                        Bidirectional(GRU(H)), Dense(1)], input_size=F, seed=0)
    export(model, tmp_path / "m.onnx", opset=14)
    proto = onnx.load(str(tmp_path / "m.onnx"))
    assert proto.opset_import[0].version == 14 and proto.producer_name == "rnnlab"
    ops = {n.op_type: n for n in proto.graph.node if n.op_type in ("LSTM", "GRU")}
    inits = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    w = inits[ops["LSTM"].input[1]][0]                              # ONNX i, o, f, c  from  torch i, f, g, o
    wi = model.layers[0].params["weight_ih"]
    for onnx_block, torch_block in enumerate((0, 3, 1, 2)):
        np.testing.assert_array_equal(w[onnx_block * H:(onnx_block + 1) * H], wi[torch_block * H:(torch_block + 1) * H])
    b = inits[ops["LSTM"].input[3]][0]                              # [Wb, Rb]
    np.testing.assert_array_equal(b[4 * H + H:4 * H + 2 * H], model.layers[0].params["bias_hh"][3 * H:])   # Rb_o
    gru_nodes = [n for n in proto.graph.node if n.op_type == "GRU"]
    attrs = [{a.name: onnx.helper.get_attribute_value(a) for a in n.attribute} for n in gru_nodes]
    assert [a["linear_before_reset"] for a in attrs] == [0, 1]
    assert [a["direction"] for a in attrs] == [b"forward", b"bidirectional"]
    r = inits[gru_nodes[1].input[2]]                                # (2 directions, z r h, H)
    back = model.layers[2].backward_layer.params["weight_hh"]
    np.testing.assert_array_equal(r[1, :H], back[H:2 * H])          # z  <- torch block 1
    np.testing.assert_array_equal(r[1, H:2 * H], back[:H])          # r  <- torch block 0


@pytest.mark.parametrize("embedding_dim", [None, 4])
def test_text_model_with_dropout_keeps_its_vocabulary_in_the_metadata(onnx, tmp_path, embedding_dim):
    vocab = Vocabulary.from_text("hello world, hello onnx", specials=())
    model = language_model(vocab, "gru", 6, layers=2, embedding_dim=embedding_dim, dropout=0.2, seed=3)
    model.compile(loss="categorical_crossentropy")
    diff = check_export(onnx, model, tmp_path / "lm.onnx", lengths=True)
    assert diff < 1e-6                                              # probabilities
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "lm.onnx")).metadata_props}
    assert Vocabulary.from_dict(json.loads(meta["rnnlab.vocabulary"])).to_dict() == vocab.to_dict()
    assert meta["rnnlab.output"] == "softmax" and meta["rnnlab.inputs"] == "ids"
    check_export(onnx, model, tmp_path / "lm.onnx", lengths=False, output="logits")


def test_float64_models_outputs_and_opsets(onnx, tmp_path):
    model = Sequential([Bidirectional(LSTM(H)), Dropout(0.5), Dense(1)], input_size=F, seed=2, dtype="float64")
    model.compile(loss="binary_crossentropy")
    check_export(onnx, model, tmp_path / "m.onnx", lengths=True)          # float32 file, sigmoid output
    for opset in (14, 21):
        check_export(onnx, model, tmp_path / "m.onnx", lengths=False, output="logits", opset=opset)
    export(model, tmp_path / "m64.onnx", dtype="float64")               # valid ONNX; ORT's kernels are float32
    onnx.checker.check_model(str(tmp_path / "m64.onnx"), full_check=True)
    for bad in (13, 10_000, "17", True):
        with pytest.raises(InputError, match="opset"):
            export(model, tmp_path / "bad.onnx", opset=bad)
    assert not (tmp_path / "bad.onnx").exists()


def test_what_has_no_onnx_operator_is_a_clear_error(onnx, tmp_path):
    with pytest.raises(InputError, match="IndRNN has no ONNX operator"):
        export(Sequential([rnnlab.IndRNN(H), Dense(1)], input_size=F), tmp_path / "m.onnx")
    with pytest.raises(InputError, match="only Sequential"):
        export(rnnlab.Seq2Seq(5, 6, hidden=4, embed=3), tmp_path / "m.onnx")
    with pytest.raises(InputError, match="not a single layer"):
        layer = GRU(H)
        layer.build(F, np.random.default_rng(0))
        export(layer, tmp_path / "m.onnx")
    assert not list(tmp_path.iterdir())


def test_export_replaces_a_file_atomically(onnx, tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"old")
    export(Sequential([GRU(H), Dense(1)], input_size=F), path)
    onnx.checker.check_model(str(path))
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]            # no temporary file left behind


def test_export_command(onnx, tmp_path, capsys):
    from rnnlab.cli import main
    model = Sequential([LSTM(H, return_sequences=True), Dense(4)], input_size=F).compile(loss="categorical_crossentropy")
    model.save(tmp_path / "model")
    assert main(["export", str(tmp_path / "model"), "--onnx", str(tmp_path / "m.onnx"), "--lengths"]) == 0
    out = capsys.readouterr().out
    assert "opset 17" in out and "output softmax" in out
    assert float(re.search(r"max \|diff\| = (\S+)", out).group(1)) <= TOL
    check_export(onnx, model, tmp_path / "m.onnx", lengths=True)


# --------------------------------------------------------------------- trained models from real runs
def _no_picture(fig, path, dpi=110):
    """Stands in for rnnlab.viz.save_figure: these tests check the model, not the run's pictures
    (drawing them is most of a short run's time)."""
    pathlib.Path(path).write_bytes(b"")
    import matplotlib.pyplot as plt
    plt.close(fig)


def _task_model(tmp_path, monkeypatch, task: str):
    from _datadir import use_real_data
    from rnnlab.tasks.base import RunContext
    monkeypatch.setattr("rnnlab.viz.save_figure", _no_picture)
    if task == "pm25":
        from rnnlab.tasks import pm25 as mod
        use_real_data(monkeypatch, tmp_path, "PM25_data.csv")
        cfg = mod.Config(epochs=1, hidden=8, steps=8, batch_size=512, horizon="1 3")
    else:
        from rnnlab.tasks import mnist_rows as mod
        use_real_data(monkeypatch, tmp_path, *[f"mnist/{p}-{k}-ubyte.gz" for p in ("train", "t10k")
                                               for k in ("images-idx3", "labels-idx1")])
        cfg = mod.Config(model="gru", hidden=8, limit=500, epochs=1)
    out = tmp_path / task
    doc = mod.run(cfg, RunContext.for_folder(mod.NAME, out, cfg, quiet=True))
    return cfg, doc, rnnlab.load(out / "model")


def test_trained_pm25_model_same_predictions_and_rmse_in_onnxruntime(onnx, tmp_path, monkeypatch):
    from rnnlab.tasks import pm25
    from rnnlab.tasks.pm25.data import inv, load
    cfg, doc, model = _task_model(tmp_path, monkeypatch, "pm25")
    export(model, tmp_path / "pm25.onnx")
    prep = load(cfg)
    te = pm25.window_ends(prep, pm25.horizons(cfg), "test")
    x = pm25.windows_x(prep, te).astype(np.float32)
    z_rnnlab, z_onnx = model.predict(x, batch_size=4096), onnxruntime_output(tmp_path / "pm25.onnx", x)
    diff = max_abs_diff(z_onnx, z_rnnlab)
    print(f"pm25 test windows {x.shape}: max |ONNX Runtime - rnnlab| = {diff:.3g} (scaled targets)")
    assert diff <= TOL
    coder = pm25.TargetCoder(prep, [1, 2, 3], residual=True)
    coder.mean_, coder.std_ = (np.array(doc["metrics"]["details"]["target_coder"][k]) for k in ("mean", "std"))
    obs = ~np.asarray(prep.data.was_missing)
    for h in pm25.horizons(cfg):
        ok = obs[te + h]
        truth = np.asarray(prep.data.pm25)[te + h][ok]
        rmse = {name: float(np.sqrt(np.mean((inv(coder.decode_g(z, prep.g_known[te]), prep.transform)[ok, h - 1]
                                             - truth) ** 2))) for name, z in (("rnnlab", z_rnnlab), ("onnx", z_onnx))}
        assert rmse["rnnlab"] == pytest.approx(doc["metrics"]["per_horizon"][str(h)]["rmse"], rel=1e-6)
        assert rmse["onnx"] == pytest.approx(rmse["rnnlab"], rel=1e-5)


def test_trained_mnist_rows_model_same_accuracy_in_onnxruntime(onnx, tmp_path, monkeypatch):
    from rnnlab.tasks.mnist_rows.data import load_data
    _, doc, model = _task_model(tmp_path, monkeypatch, "mnist-rows")
    export(model, tmp_path / "mnist.onnx")
    _, _, (x, y) = load_data(500)
    p_onnx = onnxruntime_output(tmp_path / "mnist.onnx", x)            # all 10,000 test images
    diff = max_abs_diff(p_onnx[:2000], model.predict(x[:2000], batch_size=2000))
    print(f"mnist-rows test images {x.shape}: max |ONNX Runtime - rnnlab| = {diff:.3g} (probabilities)")
    assert diff <= TOL
    acc = float(np.mean(p_onnx.argmax(1) == y))
    assert abs(acc - doc["metrics"]["test_accuracy"]) <= 2 / len(y)   # the run's own figure; a near-tie may flip


def test_docs_examples_run(onnx, torch, tmp_path, monkeypatch):
    """The Python examples of docs/interop.md run as written (in a scratch folder)."""
    text = (ROOT / "docs" / "interop.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "docs/interop.md example", "exec"), namespace)   # noqa: S102 - our own docs
