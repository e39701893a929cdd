"""Seq2Seq ⇄ PyTorch (rnnlab.interop.torch_seq2seq): for every structure × context × attention, each
cell, stacked and bidirectional encoders, on variable-length batches — to_torch's teacher-forced logits
equal rnnlab's within 1e-5 (float32) and 1e-12 (float64), every gradient of the masked cross-entropy
too (float64), greedy decoding gives the same tokens, from_torch of a randomly initialised
TorchSeq2Seq equals it, round trips are exact; the export command; what has no twin is an error."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import rnnlab
from rnnlab.data.text import Vocabulary
from rnnlab.decoding import greedy_decode
from rnnlab.errors import InputError
from rnnlab.interop.check import max_abs_diff, seq2seq_reference_output, seq2seq_torch_output
from rnnlab.interop.torch import from_torch, to_torch
from rnnlab.seq2seq import ATTENTIONS, CONTEXTS, STRUCTURES, Seq2Seq
from rnnlab.training.engine import prepare

TOL = {"float32": 1e-5, "float64": 1e-12}
V_IN, V_OUT, B, S, T = 7, 6, 4, 6, 5
SRC_N, TGT_N = np.array([6, 3, 5, 1]), np.array([5, 1, 4, 2])        # the first rows full: nothing trimmed
EOS = 2


@pytest.fixture(autouse=True)
def native_torch_kernels(torch):
    """torch's oneDNN RNN path is slow at these tiny sizes on a loaded CPU; the native kernels
    compute the same formulas (tests/test_interop_torch.py runs the oneDNN path once)."""
    before = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = False
    yield
    torch.backends.mkldnn.enabled = before


def batch(seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, V_IN, (B, S)), rng.integers(0, V_OUT, (B, T))


def masks():
    return np.arange(S)[None] < SRC_N[:, None], np.arange(T)[None] < TGT_N[:, None]


def seq2seq(dtype="float64", **kw):
    opts = dict(hidden=3, embed=4, attention_units=5, eos=EOS, seed=1)
    opts.update(kw)
    return Seq2Seq(V_IN, V_OUT, dtype=dtype, **opts)


def t(torch, a):
    return torch.from_numpy(np.asarray(a, dtype=np.int64))


def assert_equivalent(torch, model, module, dtype):
    """Logits (padded batch), greedy tokens and attention weights of the first step agree; the max |diff|."""
    src, tgt = batch()
    ref = seq2seq_reference_output(model, src, tgt, SRC_N, TGT_N)
    got = seq2seq_torch_output(module, src, tgt, SRC_N, TGT_N)
    assert got.dtype == np.dtype(dtype) and got.shape == ref.shape == (B, T, V_OUT)
    diff = max_abs_diff(got, ref)
    assert diff <= TOL[dtype], diff
    src_mask = masks()[0]
    for stop in (True, False):
        ids = greedy_decode(model, src, src_mask, max_len=T + 2, stop=stop).ids
        np.testing.assert_array_equal(module.greedy_decode(t(torch, src), t(torch, SRC_N), max_len=T + 2,
                                                           stop=stop).numpy(), ids)
    _, _, alpha = model.decode_step(np.full(B, model.bos), model.decode_start(src, src_mask))
    with torch.no_grad():
        _, _, t_alpha = module.step(torch.full((B,), model.bos), module.start(t(torch, src), t(torch, SRC_N)))
    assert (alpha is None) == (t_alpha is None)
    if alpha is not None:
        assert max_abs_diff(t_alpha.numpy(), alpha) <= TOL[dtype]
        assert np.all(alpha[SRC_N[:, None] <= np.arange(S)[None]] == 0)
    return diff


def assert_round_trip(model, module):
    back = from_torch(module)
    assert type(back) is Seq2Seq and back.get_config() == model.get_config()
    w, w2 = model.get_weights(), back.get_weights()
    assert list(w) == list(w2) and all(np.array_equal(w[k], w2[k]) for k in w)
    src, tgt = batch(1)
    np.testing.assert_array_equal(back.predict((src, tgt), mask=masks(), logits=True),
                                  model.predict((src, tgt), mask=masks(), logits=True))


@pytest.mark.parametrize("structure, context, attention", list(itertools.product(STRUCTURES, CONTEXTS, ATTENTIONS)))
def test_every_structure_context_attention(torch, structure, context, attention):
    for dtype in ("float32", "float64"):
        model = seq2seq(dtype, structure=structure, context=context, attention=attention)
        module = to_torch(model)
        assert isinstance(module.decoder, torch.nn.GRU) and not module.training
        assert_equivalent(torch, model, module, dtype)
        assert_round_trip(model, module)


CELLS_DEPTHS = [(cell, layers, bi, *combo) for cell, (layers, bi, *combo) in itertools.product(
    ["rnn", "lstm", "gru"], [(1, True, "state", "last", "additive"), (2, False, "state", "transform", "general"),
                             (2, True, "context", "pool", "dot"), (2, True, "state", "last", "none")])]


@pytest.mark.parametrize("cell, layers, bidirectional, structure, context, attention", CELLS_DEPTHS)
def test_cells_stacked_and_bidirectional(torch, cell, layers, bidirectional, structure, context, attention):
    for dtype in ("float32", "float64"):
        model = seq2seq(dtype, cell=cell, layers=layers, bidirectional=bidirectional, structure=structure,
                        context=context, attention=attention)
        module = to_torch(model)
        rnn = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
        assert type(module.encoder) is rnn and module.encoder.num_layers == layers
        assert module.encoder.bidirectional == bidirectional and module.decoder.hidden_size == model.d_model
        assert_equivalent(torch, model, module, dtype)
        assert_round_trip(model, module)


GRADIENT_ATTENTIONS = ["none", "additive", "dot", "general", "additive", "none"]
GRADIENT_CASES = [("gru", 1, False, s, c, a)
                  for (s, c), a in zip(itertools.product(STRUCTURES, CONTEXTS), GRADIENT_ATTENTIONS)]
GRADIENT_CASES += [("lstm", 2, True, "state", "last", "additive"), ("lstm", 1, True, "state", "transform", "dot"),
                   ("rnn", 2, True, "context", "pool", "general"), ("gru", 2, False, "state", "pool", "general")]


@pytest.mark.parametrize("cell, layers, bidirectional, structure, context, attention", GRADIENT_CASES)
def test_every_gradient_equals_autograd(torch, cell, layers, bidirectional, structure, context, attention):
    """Masked cross-entropy (the mean over valid target steps, rnnlab's loss): BPTT = autograd."""
    from rnnlab.interop.torch_seq2seq import parameter_names
    model = seq2seq("float64", cell=cell, layers=layers, bidirectional=bidirectional, structure=structure,
                    context=context, attention=attention)
    module = to_torch(model).train()
    src, tgt = batch(2)
    x, y, mask = prepare(model, (src, tgt), tgt, masks())
    loss = model.train_gradients(x, y, mask)
    tgt_mask = torch.from_numpy(masks()[1])
    z = module(t(torch, src), t(torch, tgt), t(torch, SRC_N), t(torch, TGT_N))
    t_loss = torch.nn.functional.cross_entropy(z[tgt_mask], t(torch, tgt)[tgt_mask])
    t_loss.backward()
    assert abs(t_loss.item() - loss) <= 1e-12
    grads = {name: g for name, _, g in model.named_params()}
    params = dict(module.named_parameters())
    pairs = parameter_names(module.config)
    assert {r for r, _ in pairs} == set(grads) and {p for _, p in pairs} == set(params)
    for r, p in pairs:
        assert max_abs_diff(params[p].grad.numpy(), grads[r]) <= 1e-12, r
    assert np.abs(grads["src_embed.weight"]).sum() > 0                  # the gradient reached the encoder


RANDOM_MODULES = [dict(cell="lstm", layers=2, bidirectional=True, structure="context", context="transform",
                       attention="general"),
                  dict(cell="gru", structure="state", context="pool", attention="additive", attention_units=3),
                  dict(cell="rnn", layers=2, structure="state", context="last", attention="dot")]


@pytest.mark.parametrize("options", RANDOM_MODULES)
def test_from_torch_of_a_random_torch_module(torch, options):
    from rnnlab.interop.torch_seq2seq import TorchSeq2Seq
    for dtype, torch_dtype in (("float32", torch.float32), ("float64", torch.float64)):
        torch.manual_seed(0)
        module = TorchSeq2Seq(V_IN, V_OUT, hidden=3, embed=4, eos=EOS, dtype=torch_dtype, **options).eval()
        model = from_torch(module)
        assert model.dtype == np.dtype(dtype) and model.get_config()["cell"] == options["cell"]
        assert_equivalent(torch, model, module, dtype)
        src, tgt = batch(3)                                          # no padding at all
        assert max_abs_diff(seq2seq_torch_output(module, src, tgt), seq2seq_reference_output(model, src, tgt)) \
            <= TOL[dtype]
        again = to_torch(model).state_dict()                        # torch → rnnlab → torch: bit for bit
        assert list(again) == list(module.state_dict())
        assert all(torch.equal(again[k], v) for k, v in module.state_dict().items())
    assert isinstance(from_torch(torch.nn.DataParallel(module)), Seq2Seq)     # a wrapper's .module


def test_masks_lengths_and_output_function(torch):
    model = seq2seq("float64", structure="context", context="pool", attention="additive")
    model.compile(optimizer="adam")
    src, tgt = batch()
    src_mask, tgt_mask = masks()
    module = to_torch(model, output="auto")                         # cross-entropy: ends in a softmax
    probs = seq2seq_torch_output(module, src, tgt, SRC_N, TGT_N)
    np.testing.assert_allclose(probs, model.predict((src, tgt), mask=(src_mask, tgt_mask)), rtol=0, atol=1e-12)
    with torch.no_grad():                                          # bool masks work like lengths
        by_mask = module(t(torch, src), t(torch, tgt), torch.from_numpy(src_mask), torch.from_numpy(tgt_mask))
    np.testing.assert_array_equal(by_mask.numpy(), probs)
    assert module.output == "softmax" and to_torch(model).output == "logits"
    with pytest.raises(InputError, match="sigmoid"):
        to_torch(model, output="sigmoid")


def test_dropout_teacher_forcing_and_vocabularies_travel(torch):
    model = seq2seq("float32", dropout=0.3, teacher_forcing=0.5, attention="dot", bos=1, pad=0)
    module = to_torch(model)
    assert module.config["teacher_forcing"] == 0.5 and module.src_drop.rate == 0.3
    assert_equivalent(torch, model, module, "float32")             # eval(): dropout off
    src, tgt = batch()
    args = (t(torch, src), t(torch, tgt), t(torch, SRC_N), t(torch, TGT_N))
    torch.manual_seed(0)
    with torch.no_grad():
        assert not torch.equal(module.train()(*args), module.eval()(*args))
    vocab = (Vocabulary(list("abcdefg"), specials=()), Vocabulary(list("xyzuvw"), specials=()))
    back = from_torch(module, vocab=vocab)
    assert back.get_config() == model.get_config() and back.forcing is not None
    assert back.src_vocab is vocab[0] and back.tgt_vocab is vocab[1]
    with pytest.raises(InputError, match="target vocabulary has 3 tokens"):
        from_torch(module, vocab=(None, Vocabulary(list("xyz"), specials=())))


def test_what_has_no_twin_is_a_clear_error(torch, tmp_path):
    from rnnlab.interop.onnx import export
    from rnnlab.interop.torch_seq2seq import TorchSeq2Seq
    with pytest.raises(InputError, match="IndRNN has no PyTorch equivalent"):
        to_torch(seq2seq(cell="indrnn"))
    with pytest.raises(InputError, match=r"ONNX export of a Seq2Seq is not supported.*--torch"):
        export(seq2seq(), tmp_path / "s2s.onnx")
    assert not (tmp_path / "s2s.onnx").exists()
    with pytest.raises(InputError, match="cell: expected one of"):
        TorchSeq2Seq(V_IN, V_OUT, cell="indrnn")
    module = TorchSeq2Seq(V_IN, V_OUT, hidden=3, embed=4)
    module.out = torch.nn.Linear(3, V_OUT, dtype=torch.float64)
    with pytest.raises(InputError, match="float32 or float64"):
        from_torch(module)
    module = TorchSeq2Seq(V_IN, V_OUT, hidden=3, embed=4)
    module.bridge = torch.nn.Linear(3, 3)                           # a part its config does not have
    with pytest.raises(InputError, match="do not correspond"):
        from_torch(module)


def test_export_command_writes_a_loadable_state_dict(torch, tmp_path, capsys):
    from rnnlab.cli import main
    model = seq2seq("float32", cell="lstm", bidirectional=True, structure="context", context="transform",
                    attention="general")
    model.save(tmp_path / "model")
    assert main(["export", str(tmp_path / "model"), "--torch", str(tmp_path / "m.pt")]) == 0
    out = capsys.readouterr().out
    assert "max |diff|" in out and "TorchSeq2Seq(" in out
    diff = float(out.rsplit("max |diff| = ", 1)[1].split()[0])
    assert diff <= 1e-5
    code = out[out.index("import torch"):out.index("module.eval()") + len("module.eval()")]
    namespace: dict = {}
    exec(code, namespace)                                              # noqa: S102 - printed by our command
    src, tgt = batch()
    loaded = to_torch(rnnlab.load(tmp_path / "model"))
    np.testing.assert_array_equal(seq2seq_torch_output(namespace["module"], src, tgt, SRC_N, TGT_N),
                                  seq2seq_torch_output(loaded, src, tgt, SRC_N, TGT_N))
    assert main(["export", str(tmp_path / "model"), "--onnx", str(tmp_path / "m.onnx"),
                 "--torch", str(tmp_path / "m2.pt")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not supported" in err and "--torch" in err
    assert not (tmp_path / "m.onnx").exists() and not (tmp_path / "m2.pt").exists()


@pytest.mark.parametrize("cell, attention", [("lstm", "additive"), ("gru", "none")])
def test_rnnlab_beam_search_runs_on_the_torch_module(torch, cell, attention):
    from rnnlab.decoding import beam_search
    from rnnlab.interop.torch_seq2seq import DecodingSteps
    model = seq2seq("float64", cell=cell, attention=attention, layers=2, bidirectional=True)
    steps = DecodingSteps(to_torch(model))
    src, _ = batch()
    src_mask = masks()[0]
    ref = beam_search(model, src, src_mask, beam=3, max_len=T, return_attention=True)
    got = beam_search(steps, src, src_mask, beam=3, max_len=T, return_attention=True)
    np.testing.assert_array_equal(got.ids, ref.ids)
    np.testing.assert_allclose(got.scores, ref.scores, rtol=0, atol=1e-12)
    assert (ref.attention is None) == (attention == "none") and (got.attention is None) == (ref.attention is None)
    if ref.attention is not None:
        np.testing.assert_allclose(got.attention, ref.attention, rtol=0, atol=1e-12)
