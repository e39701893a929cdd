"""rnnlab ⇄ PyTorch: to_torch computes the same function (1e-5 in float32, 1e-12 in float64) for every
layer and option with variable-length batches, from_torch of randomly initialised torch modules
equals them, single-layer state dicts, the construction code, errors for what has no twin."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import rnnlab
from rnnlab import GRU, LSTM, Bidirectional, Dense, Dropout, Embedding, Sequential, SimpleRNN, TimePool
from rnnlab.data.text import Vocabulary
from rnnlab.errors import InputError
from rnnlab.interop.check import max_abs_diff, reference_output, torch_output
from rnnlab.interop.torch import (construction_code, from_torch, layer_state_dict, load_layer_state_dict,
                                  to_torch)
from rnnlab.text_model import language_model

TOL = {"float32": 1e-5, "float64": 1e-12}
B, T, F, H = 4, 6, 3, 5
LENGTHS = np.array([6, 2, 5, 1])
CELLS = {"rnn-tanh": (SimpleRNN, {}), "rnn-relu": (SimpleRNN, {"activation": "relu"}),
         "lstm": (LSTM, {"forget_bias": 1.0}), "gru": (GRU, {})}


def recurrent(cell: str, hidden: int = H, **kw):
    cls, extra = CELLS[cell]
    return cls(hidden, **extra, **kw)


@pytest.fixture(autouse=True)
def native_torch_kernels(torch):
    """torch's oneDNN (mkldnn) RNN path costs ~0.4 s per call at these tiny sizes on a loaded CPU
    (it pays off on large batches): the grid runs torch's native kernels, the same formulas;
    test_onednn_kernels_compute_the_same_function runs the default path."""
    before = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = False
    yield
    torch.backends.mkldnn.enabled = before


INIT_ONLY = {"forget_bias", "kernel_init", "recurrent_init", "bias_init", "init", "seed"}


def architecture(model) -> list:
    """The layers' configs without what only draws initial weights (which torch does not keep)."""
    def strip(cfg):
        return {k: (strip(v) if isinstance(v, dict) else v) for k, v in cfg.items() if k not in INIT_ONLY}
    return [strip(spec) for spec in model.get_config()["layers"]]


def features(dtype, batch=B, steps=T, seed=0):
    return np.random.default_rng(seed).standard_normal((batch, steps, F)).astype(dtype)


def assert_same(model, x, lengths, dtype, output="logits"):
    """to_torch(model) on (x, lengths) equals rnnlab within the dtype's tolerance; returns the max |diff|."""
    module = to_torch(model, output=output)
    ref = reference_output(model, x, lengths, output)
    got = torch_output(module, x, lengths)
    assert got.dtype == np.dtype(dtype) and got.shape == ref.shape
    diff = max_abs_diff(got, ref)
    assert diff <= TOL[dtype], diff
    return module, diff


GRID = list(itertools.product(CELLS, [False, True], [1, 2], [False, True], [True, False]))


@pytest.mark.parametrize("cell, bidirectional, depth, masked, return_sequences", GRID)
def test_to_torch_and_back_every_cell_and_option(torch, cell, bidirectional, depth, masked, return_sequences):
    lengths = LENGTHS if masked else None
    for dtype in ("float32", "float64"):
        layers = []
        for k in range(depth):
            layer = recurrent(cell, return_sequences=return_sequences or k < depth - 1)
            layers.append(Bidirectional(layer) if bidirectional else layer)
        model = Sequential(layers + [Dense(2)], input_size=F, seed=3, dtype=dtype)
        module, _ = assert_same(model, features(dtype), lengths, dtype)
        back = from_torch(module)
        assert architecture(back) == architecture(model) and back.dtype == model.dtype
        w, w2 = model.get_weights(), back.get_weights()
        assert list(w) == list(w2) and all(np.array_equal(w[k], w2[k]) for k in w)


@pytest.mark.parametrize("merge", ["concat", "sum", "mul", "ave"])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_bidirectional_merges(torch, merge, return_sequences):
    for dtype in ("float32", "float64"):
        model = Sequential([Bidirectional(LSTM(H, return_sequences=return_sequences), merge=merge), Dense(3)],
                           input_size=F, seed=1, dtype=dtype)
        module, _ = assert_same(model, features(dtype), LENGTHS, dtype)
        back = from_torch(module)
        assert back.layers[0].merge == merge
        np.testing.assert_array_equal(back.predict(features(dtype), logits=True),
                                      model.predict(features(dtype), logits=True))


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("masked", [False, True])
def test_go_backwards(torch, cell, masked):
    for dtype in ("float32", "float64"):
        model = Sequential([recurrent(cell, return_sequences=True, go_backwards=True),
                            recurrent(cell, go_backwards=True), Dense(2)], input_size=F, seed=2, dtype=dtype)
        module, _ = assert_same(model, features(dtype), LENGTHS if masked else None, dtype)
        assert architecture(from_torch(module)) == architecture(model)


def test_onednn_kernels_compute_the_same_function(torch):
    model = Sequential([Bidirectional(LSTM(H, return_sequences=True)), GRU(H, return_sequences=True),
                        SimpleRNN(H), Dense(2)], input_size=F, seed=6)
    torch.backends.mkldnn.enabled = True                                  # (the fixture restores it)
    assert_same(model, features("float32"), None, "float32")            # no lengths: the unpacked path


def test_use_bias_false_and_output_functions(torch):
    model = Sequential([GRU(H, use_bias=False, return_sequences=True), Dense(4, use_bias=False)], input_size=F)
    model.compile(loss="categorical_crossentropy")
    x = features("float32")
    module, _ = assert_same(model, x, LENGTHS, "float32", output="auto")
    assert isinstance(module.layers[-1], torch.nn.Softmax)
    np.testing.assert_allclose(torch_output(module, x, LENGTHS).sum(-1), 1.0, rtol=1e-6)
    back = from_torch(module)                          # the softmax comes back as the compiled loss
    assert type(back.compiled_loss).__name__ == "CategoricalCrossEntropy"
    mask = np.arange(T)[None] < LENGTHS[:, None]
    np.testing.assert_allclose(back.predict(x, mask=mask), model.predict(x, mask=mask), atol=1e-7)
    assert isinstance(to_torch(model, output="sigmoid").layers[-1], torch.nn.Sigmoid)
    with pytest.raises(InputError, match="output"):
        to_torch(model, output="probabilities")


@pytest.mark.parametrize("embedding_dim", [None, 6])
def test_text_model_embedding_onehot_dropout(torch, embedding_dim):
    vocab = Vocabulary.from_text("hello world, hello rnn", specials=())
    for dtype in ("float32", "float64"):
        model = language_model(vocab, "lstm", 7, layers=2, embedding_dim=embedding_dim, dropout=0.3, seed=4,
                               dtype=dtype)
        ids = np.random.default_rng(1).integers(0, len(vocab), (B, T))
        module, _ = assert_same(model, ids, LENGTHS, dtype)
        assert any(type(m).__name__ == "SequenceDropout" for m in module.layers)
        back = from_torch(module, vocab=vocab)
        assert isinstance(back, rnnlab.TextModel) and back.vocab is vocab
        assert architecture(back) == architecture(model)
        assert back.sample("hel", length=5) == model.sample("hel", length=5)


@pytest.mark.parametrize("mode", ["mean", "max"])
def test_time_pool_over_the_valid_steps(torch, mode):
    ids = np.random.default_rng(2).integers(0, 9, (B, T))
    for dtype in ("float32", "float64"):
        model = Sequential([Embedding(9, 4), Bidirectional(GRU(H, return_sequences=True), merge="sum"),
                            TimePool(mode), Dense(1)], input_size=1, seed=2, dtype=dtype)
        for lengths in (LENGTHS, None):
            module, _ = assert_same(model, ids, lengths, dtype)
        assert architecture(from_torch(module)) == architecture(model)


def test_sequence_dropout_trains_with_one_mask_per_sequence(torch):
    module = to_torch(Sequential([Dropout(0.5), Dense(2)], input_size=F)).train()
    drop = module.layers[0]
    torch.manual_seed(0)
    y = drop(torch.ones(3, 8, F))
    assert set(torch.unique(y).tolist()) <= {0.0, 2.0}
    assert torch.equal(y, y[:, :1].expand_as(y))        # the same features dropped at every step
    assert torch.equal(module.eval().layers[0](torch.ones(3, 8, F)), torch.ones(3, 8, F))


def test_from_torch_of_random_torch_modules(torch):
    nn = torch.nn
    from rnnlab.interop.torch_modules import OneHot as TorchOneHot
    from rnnlab.interop.torch_modules import RecurrentLayer, RnnlabSequential
    torch.manual_seed(0)
    x = features("float32")
    xt = torch.from_numpy(x)
    mask = np.arange(T)[None] < LENGTHS[:, None]
    lt = torch.from_numpy(LENGTHS)
    with torch.no_grad():
        # a raw two-layer bidirectional LSTM, batch first and time first: every step, both directions
        for batch_first in (True, False):
            rnn = nn.LSTM(F, H, num_layers=2, bidirectional=True, dropout=0.2, batch_first=batch_first).eval()
            model = from_torch(rnn)
            assert [type(l).__name__ for l in model.layers] == ["Bidirectional", "Dropout", "Bidirectional"]
            ref = rnn(xt if batch_first else xt.transpose(0, 1))[0]
            ref = ref if batch_first else ref.transpose(0, 1)
            assert max_abs_diff(model.predict(x, logits=True), ref.numpy()) <= 1e-5
        # a module written in torch: GRU (last step) -> Linear -> Softmax, and one on token ids, float64
        net = RnnlabSequential([RecurrentLayer(nn.GRU(F, H, batch_first=True), return_sequences=False),
                                nn.Linear(H, 3), nn.Softmax(dim=-1)])
        model = from_torch(net)
        assert max_abs_diff(model.predict(x, mask=mask), net(xt, lt).numpy()) <= 1e-5
        ids = np.random.default_rng(0).integers(0, 9, (B, T))
        for first in (nn.Embedding(9, 4, dtype=torch.float64), TorchOneHot(9, dtype=torch.float64)):
            size = 4 if isinstance(first, nn.Embedding) else 9
            net = RnnlabSequential([first, RecurrentLayer(nn.RNN(size, H, nonlinearity="relu", batch_first=True,
                                                                 dtype=torch.float64), return_sequences=True),
                                    nn.Linear(H, 2, dtype=torch.float64)])
            model = from_torch(net)
            assert model.dtype == np.float64
            assert max_abs_diff(model.predict(ids, mask=mask, logits=True),
                                net(torch.from_numpy(ids), lt).numpy()) <= 1e-12
        # nn.Sequential of wrappers (no lengths), and a DDP-like wrapper's .module
        seq = nn.Sequential(RecurrentLayer(nn.RNN(F, H, batch_first=True), return_sequences=True),
                            RecurrentLayer(nn.LSTM(H, H, batch_first=True, bidirectional=True)), nn.Linear(2 * H, 1))
        model = from_torch(seq)
        assert max_abs_diff(model.predict(x, logits=True), seq(xt).numpy()) <= 1e-5


def test_layer_state_dicts_match_torch_naming(torch):
    nn = torch.nn
    rng = np.random.default_rng(0)
    lstm = LSTM(H)
    lstm.build(F, rng, np.float64)
    sd = layer_state_dict(lstm)
    assert sorted(sd) == ["bias_hh_l0", "bias_ih_l0", "weight_hh_l0", "weight_ih_l0"]
    ref = nn.LSTM(F, H, batch_first=True, dtype=torch.float64)
    ref.load_state_dict(sd)                                          # strict: same keys and shapes
    x = features("float64")
    with torch.no_grad():
        np.testing.assert_allclose(ref(torch.from_numpy(x))[1][0][0].numpy(), lstm.forward(x), atol=1e-12)
    gru = nn.GRU(F, H, bidirectional=True, batch_first=True, dtype=torch.float64)
    layer = Bidirectional(GRU(H))
    layer.build(F, rng, np.float64)
    load_layer_state_dict(layer, gru.state_dict())
    assert set(layer_state_dict(layer)) == set(gru.state_dict())
    for k, v in gru.state_dict().items():
        np.testing.assert_array_equal(layer_state_dict(layer)[k].numpy(), v.numpy())
    with pytest.raises(InputError, match="missing"):
        load_layer_state_dict(lstm, gru.state_dict())
    with pytest.raises(InputError, match="shape"):
        load_layer_state_dict(lstm, nn.LSTM(F + 1, H).state_dict())


def test_construction_code_builds_the_module_a_state_dict_loads_into(torch, tmp_path):
    model = Sequential([Bidirectional(GRU(H, return_sequences=True), merge="ave"), Dropout(0.2),
                        SimpleRNN(H, activation="relu", go_backwards=True), Dense(2)], input_size=F, seed=5)
    module = to_torch(model)
    path = tmp_path / "m.pt"
    torch.save(module.state_dict(), path)
    namespace: dict = {}
    exec(construction_code(model, str(path)), namespace)              # noqa: S102 - our own generated code
    x = features("float32")
    np.testing.assert_array_equal(torch_output(namespace["module"], x, LENGTHS), torch_output(module, x, LENGTHS))


def test_what_has_no_torch_twin_is_a_clear_error(torch):
    def model(layer):
        return Sequential([layer, Dense(1)], input_size=F)
    with pytest.raises(InputError, match=r"reset_after=False\) has no PyTorch equivalent"):
        to_torch(model(GRU(H, reset_after=False)))
    with pytest.raises(InputError, match="IndRNN has no PyTorch equivalent"):
        to_torch(model(rnnlab.IndRNN(H)))
    with pytest.raises(InputError, match="sigmoid"):
        to_torch(model(SimpleRNN(H, activation="sigmoid")))
    with pytest.raises(InputError, match="IndRNN has no PyTorch equivalent"):
        to_torch(rnnlab.Seq2Seq(5, 6, hidden=4, embed=3, cell="indrnn"))
    with pytest.raises(InputError, match="not built"):
        to_torch(Sequential([GRU(H)]))
    with pytest.raises(InputError, match="proj_size"):
        from_torch(torch.nn.LSTM(F, H, proj_size=2))
    with pytest.raises(InputError, match="max_norm"):
        from_torch(torch.nn.Embedding(5, 3, max_norm=1.0))
    with pytest.raises(InputError, match="cannot be converted"):
        from_torch(torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1)))
    with pytest.raises(InputError, match="mixes float32 and float64"):
        from_torch(torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Linear(3, 1, dtype=torch.float64)))


def test_export_command_writes_a_loadable_state_dict(torch, tmp_path, capsys):
    from rnnlab.cli import main
    model = Sequential([LSTM(H), Dense(3)], input_size=F, seed=0).compile(loss="mse")
    model.save(tmp_path / "model")
    assert main(["export", str(tmp_path / "model"), "--torch", str(tmp_path / "m.pt")]) == 0
    out = capsys.readouterr().out
    assert "max |diff|" in out and "RnnlabSequential(" in out
    code = out[out.index("import torch"):out.index("module.eval()") + len("module.eval()")]
    namespace: dict = {}
    exec(code, namespace)                                              # noqa: S102 - printed by our command
    x = features("float32")
    np.testing.assert_array_equal(torch_output(namespace["module"], x, LENGTHS), torch_output(to_torch(model), x, LENGTHS))
    assert main(["export", str(tmp_path / "model")]) == 2                 # nothing asked for: a one-line error
    assert "--onnx" in capsys.readouterr().err


def test_importing_interop_loads_neither_torch_nor_onnx():
    import doctest
    import subprocess
    import sys

    import rnnlab.interop.check
    code = ("import sys, rnnlab.interop, rnnlab.interop.command; "
            "print(sorted(m for m in ('torch', 'onnx', 'onnxruntime') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    result = doctest.testmod(rnnlab.interop.check)
    assert result.attempted > 0 and result.failed == 0
