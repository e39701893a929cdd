"""The seq2seq-with-attention row of ``models_vs_torch.py``: rnnlab's ``Seq2Seq`` against the
PyTorch twin of ``translate_twin.py`` (same architecture, weights copied from the rnnlab model).

Model (the translate task's architecture at the issue's size): source and target embeddings
(128), an LSTM encoder of 256 units, context ``c = tanh(W h_S + b)`` as the decoder's initial
state, an LSTM decoder of 256, additive attention (256 units) over the encoder states,
``tanh(W_c[a; s] + b_c)``, Dense to the target vocabulary; softmax cross-entropy over the valid
target positions; Adam with global-norm clipping at 5. Batch 64, source 12, target 14 steps,
variable lengths (masks; one pair of each batch at full length), 4,000-token vocabularies.

Checked before timing: logits (valid positions), loss, every gradient and the loss after two
Adam updates. Timed: a training update (rnnlab ``train_step`` as ``fit`` runs it; the twin's
zero_grad / forward / loss / backward / clip / step) and a teacher-forced inference forward
(rnnlab ``predict(..., logits=True)``; the twin under ``torch.inference_mode``), pairs/s.
"""
from __future__ import annotations

import numpy as np

SPEC = dict(batch=64, src_steps=12, tgt_steps=14, hidden=256, embed=128, in_vocab=4000, out_vocab=4000,
            cell="lstm", attention="additive", context="transform", structure="state", lr=2e-3, clipnorm=5.0)


def build(spec: dict = SPEC):
    """rnnlab's Seq2Seq of ``spec``, compiled as the translate task compiles it (no schedule)."""
    from rnnlab.seq2seq import Seq2Seq
    m = Seq2Seq(spec["in_vocab"], spec["out_vocab"], hidden=spec["hidden"], embed=spec["embed"],
                cell=spec["cell"], structure=spec["structure"], context=spec["context"],
                attention=spec["attention"], bidirectional=False, dropout=0.0, bos=1, eos=2, pad=0, seed=0)
    m.compile(optimizer="adam", lr=spec["lr"], clipnorm=spec["clipnorm"])
    return m


def make_data(spec: dict = SPEC, seed: int = 1):
    """Token ids and masks (valid prefix per row; row 0 at full length on both sides)."""
    rng = np.random.default_rng(seed)
    b, s, t = spec["batch"], spec["src_steps"], spec["tgt_steps"]
    src = rng.integers(3, spec["in_vocab"], (b, s), dtype=np.int64)
    tgt = rng.integers(3, spec["out_vocab"], (b, t), dtype=np.int64)
    ls, lt = rng.integers(s // 2, s + 1, b), rng.integers(t // 2, t + 1, b)
    ls[0], lt[0] = s, t
    sm, tm = np.arange(s)[None] < ls[:, None], np.arange(t)[None] < lt[:, None]
    src[~sm], tgt[~tm] = 0, 0
    return src, tgt, sm, tm


class Twin:
    """translate_twin's module for ``model`` plus its loss and optimizer (Adam with rnnlab's
    betas and eps, ``clip_grad_norm_``)."""

    def __init__(self, model, spec: dict = SPEC) -> None:
        import torch
        from translate_twin import build_twin
        self.torch, self.m, self.spec = torch, model, spec
        self.net = build_twin(model)
        self.params = list(self.net.parameters())
        opt = model.optimizer
        self.opt = torch.optim.Adam(self.params, lr=spec["lr"], betas=(opt.beta1, opt.beta2), eps=opt.eps)

    def logits(self, src, tgt, sm):
        torch = self.torch
        dec_in = torch.cat([torch.full((len(tgt), 1), self.m.bos), tgt[:, :-1]], 1)
        enc, c, init = self.net.encode(src, sm)
        return self.net.decode(dec_in, enc, c, init, sm)[0]

    def loss(self, z, tgt, tm):
        return self.torch.nn.functional.cross_entropy(z[tm], tgt[tm])

    def train_step(self, src, tgt, sm, tm):
        self.opt.zero_grad(set_to_none=True)
        loss = self.loss(self.logits(src, tgt, sm), tgt, tm)
        loss.backward()
        self.norm = self.torch.nn.utils.clip_grad_norm_(self.params, self.spec["clipnorm"])
        self.opt.step()
        return loss

    def infer(self, src, tgt, sm):
        with self.torch.inference_mode():
            return self.logits(src, tgt, sm)


def _rel(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


def check(model, twin: Twin, data, tol: float = 1e-4, grad_tol: float = 1e-3) -> dict:
    """Logits, loss, gradients and the loss after two Adam updates agree, or SystemExit."""
    from rnnlab.training import compute_gradients, train_step
    torch = twin.torch
    src, tgt, sm, tm = data
    ts = [torch.from_numpy(a) for a in data]
    z_r = model.predict((src, tgt), mask=(sm, tm), batch_size=len(src), logits=True)
    with torch.no_grad():
        z_t = twin.logits(ts[0], ts[1], ts[2]).numpy()
    out = {"logits_rel_err": _rel(z_r[tm], z_t[tm])}
    l_r = compute_gradients(model, (src, tgt), tgt, (sm, tm))[0]
    twin.opt.zero_grad(set_to_none=True)
    loss = twin.loss(twin.logits(ts[0], ts[1], ts[2]), ts[1], ts[3])
    loss.backward()
    lt = float(loss.detach())
    out["loss_rel_err"] = abs(l_r - lt) / abs(lt)
    names = {id(p): n for n, p in twin.net.named_parameters()}
    t_grads = {names[id(p)]: p.grad.numpy() for p in twin.params}
    r_norm = float(np.sqrt(sum(float(np.vdot(g, g)) for _, _, g in model.named_params())))
    t_norm = float(np.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in t_grads.values())))
    out["grad_norm_rel_err"] = abs(r_norm - t_norm) / t_norm
    rnn_names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")       # torch's RNN params end in _l0
    out["grad_rel_err"] = max(
        float(np.linalg.norm(g - t_grads[n + "_l0" if n.split(".")[-1] in rnn_names else n])
              / max(np.linalg.norm(t_grads[n + "_l0" if n.split(".")[-1] in rnn_names else n]), 1e-30))
        for n, _, g in model.named_params())
    for _ in range(3):
        l_r = train_step(model, (src, tgt), tgt, (sm, tm))[0]
        l_t = twin.train_step(*ts).item()
    out["loss_after_update_rel_err"] = abs(l_r - l_t) / abs(l_t)
    bad = {k: v for k, v in out.items() if not v <= (grad_tol if k.startswith("grad") else tol)}
    if bad:
        raise SystemExit("seq2seq: rnnlab and torch disagree: " + ", ".join(f"{k} {v:.2e}" for k, v in bad.items()))
    return {k: float(f"{v:.3g}") for k, v in out.items()}


def functions(model, twin: Twin, data) -> dict:
    """{mode: {library: callable}} for ``time_pair``: one update; one teacher-forced forward."""
    import inspect
    from rnnlab.training import train_step
    src, tgt, sm, tm = data
    ts = [twin.torch.from_numpy(a) for a in data]
    if "check" in inspect.signature(train_step).parameters:
        params = model.named_params()
        update = lambda: train_step(model, (src, tgt), tgt, (sm, tm), check=False, params=params)   # noqa: E731
    else:                                                                                          # pragma: no cover
        update = lambda: train_step(model, (src, tgt), tgt, (sm, tm))                               # noqa: E731
    return {"train": {"rnnlab": update, "torch": lambda: twin.train_step(*ts)},
            "infer": {"rnnlab": lambda: model.predict((src, tgt), mask=(sm, tm), batch_size=len(src), logits=True),
                      "torch": lambda: twin.infer(ts[0], ts[1], ts[2])}}
