"""TextModel: the lecture's "hello", one-hot vs embedding input, gradients against finite differences
and PyTorch, and a saved model that comes back with its vocabulary and generates the same text."""
import numpy as np
import pytest

import rnnlab
from rnnlab.data.text import Vocabulary
from rnnlab.diagnostics import gradcheck
from rnnlab.errors import InputError, ModelFileError
from rnnlab.generation import Sampling
from rnnlab.text_model import TextModel, language_model


def hello_model(seed=0):
    vocab = Vocabulary.from_text("hello", specials=())
    model = language_model(vocab, "rnn", 8, embedding_dim=None, seed=seed)
    model.compile(loss="categorical_crossentropy", optimizer="adam", lr=0.05)
    return model, vocab


def test_hello_learns_the_four_transitions():
    """Input "hell", target "ello": l→l at step 3 and l→o at step 4 need the state (the same input)."""
    model, vocab = hello_model()
    x, y = vocab.encode("hell")[None], vocab.encode("ello")[None]
    model.fit(x, y, epochs=100, batch_size=1, verbose=0)
    p = model.predict(x)[0]                                    # (4 steps, 4 characters)
    assert p.argmax(axis=1).tolist() == y[0].tolist()
    assert (p[np.arange(4), y[0]] > 0.9).all()
    assert model.sample("h", length=4, sampling=Sampling(greedy=True)) == ["hello"]


def test_one_hot_input_is_the_lecture_x_t(torch):
    vocab = Vocabulary.from_text("abc", specials=())
    onehot = rnnlab.OneHot(3)
    onehot.build(1, np.random.default_rng(0))
    ids = np.array([[0, 2, 1], [1, 1, 0]])
    assert np.array_equal(onehot.forward(ids), torch.nn.functional.one_hot(torch.from_numpy(ids), 3).numpy())
    with pytest.raises(InputError, match=r"ids must lie in \[0, 2\]"):
        onehot.forward(np.array([[3]]))
    assert len(vocab) == 3


@pytest.mark.parametrize("embedding_dim", [None, 3])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_language_model_gradcheck(cell, embedding_dim, rng):
    vocab = Vocabulary.from_text("abcde")
    model = language_model(vocab, cell, 5, layers=2, embedding_dim=embedding_dim, seed=1, dtype="float64")
    model.compile(loss="categorical_crossentropy", optimizer="sgd", lr=0.1)
    x = rng.integers(0, len(vocab), (3, 6))
    mask = np.arange(6)[None] < np.array([6, 4, 2])[:, None]
    res = gradcheck(model, x, rng.integers(0, len(vocab), (3, 6)), mask=mask)
    assert res.ok, str(res)
    assert len(res.errors) == len(model.named_params())


def test_language_model_matches_pytorch(torch, rng):
    """Embedding → 2-layer LSTM → Linear with rnnlab's weights: the same loss and gradients."""
    vocab = Vocabulary.from_text("abcdefgh")
    V = len(vocab)
    model = language_model(vocab, "lstm", 7, layers=2, embedding_dim=5, seed=3, dtype="float64")
    model.compile(loss="categorical_crossentropy", optimizer="sgd", lr=0.1)
    x, y = rng.integers(0, V, (4, 6)), rng.integers(0, V, (4, 6))
    loss = model.train_gradients(x, y)
    emb = torch.nn.Embedding(V, 5).double()
    lstm = torch.nn.LSTM(5, 7, num_layers=2, batch_first=True).double()
    lin = torch.nn.Linear(7, V).double()
    w = model.get_weights()
    with torch.no_grad():
        emb.weight.copy_(torch.from_numpy(w["layers.0.weight"]))
        for k in range(2):
            for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(lstm, f"{p}_l{k}").copy_(torch.from_numpy(w[f"layers.{k + 1}.{p}"]))
        lin.weight.copy_(torch.from_numpy(w["layers.3.weight"]))
        lin.bias.copy_(torch.from_numpy(w["layers.3.bias"]))
    out, _ = lstm(emb(torch.from_numpy(x)))
    t_loss = torch.nn.functional.cross_entropy(lin(out).reshape(-1, V), torch.from_numpy(y).reshape(-1))
    t_loss.backward()
    assert loss == pytest.approx(t_loss.item(), rel=1e-12)
    grads = {n: g for n, _, g in model.named_params()}
    assert np.allclose(grads["layers.0.weight"], emb.weight.grad.numpy(), atol=1e-12)
    assert np.allclose(grads["layers.2.weight_hh"], lstm.weight_hh_l1.grad.numpy(), atol=1e-12)
    assert np.allclose(grads["layers.1.weight_ih"], lstm.weight_ih_l0.grad.numpy(), atol=1e-12)
    assert np.allclose(grads["layers.3.weight"], lin.weight.grad.numpy(), atol=1e-12)


def test_saved_model_brings_its_vocabulary_and_generates_the_same_text(tmp_path):
    vocab = Vocabulary.from_text("to be or not to be")
    model = language_model(vocab, "gru", 12, embedding_dim=6, seed=4)
    model.compile(loss="categorical_crossentropy", optimizer="adam", lr=0.01)
    model.save(tmp_path / "lm")
    back = rnnlab.load(tmp_path / "lm")
    assert isinstance(back, TextModel) and back.vocab == vocab
    s = Sampling(temperature=0.9, top_k=5)
    assert back.sample("to ", 30, sampling=s, seed=7) == model.sample("to ", 30, sampling=s, seed=7)
    assert back.sample("to ", 30, sampling=s, seed=7) != back.sample("to ", 30, sampling=s, seed=8)
    (tmp_path / "lm" / "extras" / "vocabulary.json").write_text('{"format": "rnnlab-vocabulary", "version": 1, '
                                                                '"level": "char", "specials": [], "tokens": ["a"]}')
    with pytest.raises(ModelFileError, match="reads 12 ids|reads .* ids"):
        rnnlab.load(tmp_path / "lm")


def test_text_model_needs_an_id_layer_and_a_matching_vocabulary():
    with pytest.raises(InputError, match="first layer must read token ids"):
        TextModel([rnnlab.SimpleRNN(3), rnnlab.Dense(2)])
    with pytest.raises(InputError, match="reads 5 ids"):
        TextModel([rnnlab.Embedding(5, 2), rnnlab.Dense(5)], vocab=Vocabulary.from_text("ab"))
    with pytest.raises(InputError, match="no vocabulary"):
        TextModel([rnnlab.Embedding(5, 2), rnnlab.Dense(5)]).sample("a")
