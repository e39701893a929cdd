"""Helpers of ``models_vs_torch.py``: model specs, the rnnlab model and its PyTorch twin with the
same weights, the checks that the two agree, thread pinning, and peak memory in a subprocess.

A spec is a dict: ``emb`` (vocab, dim) or ``input`` (features); ``cell`` (rnn / lstm / gru),
``hidden``, ``layers``; ``head`` (Dense units); ``per_step`` (output and loss at every step, else
at the last step); ``loss`` ("ce": softmax cross-entropy on integer labels, mean over all positions
as rnnlab and ``nn.CrossEntropyLoss`` both do; "mse"); ``batch``, ``steps``; ``lr``, ``clipnorm``
(Adam in both; clipping by global norm, ``clip_grad_norm_`` in torch, the same rule as rnnlab's).
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

TORCH_CELLS = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}
TOL = 1e-4          # relative agreement of outputs and losses required before timing (float32)
GRAD_TOL = 1e-3     # relative L2 error of every parameter's gradient


def build_rnnlab(spec: dict):
    """rnnlab model of ``spec`` (a task's own builder when ``spec['builder']`` is set), compiled."""
    import rnnlab
    from rnnlab.registry import make_recurrent
    if spec.get("builder"):
        model = spec["builder"]()
    else:
        n = spec.get("layers", 1)
        layers = [rnnlab.Embedding(*spec["emb"])] if spec.get("emb") else []
        layers += [make_recurrent(spec["cell"], spec["hidden"], return_sequences=spec["per_step"] or i < n - 1)
                   for i in range(n)]
        model = rnnlab.Sequential(layers + [rnnlab.Dense(spec["head"])], input_size=spec.get("input", 1), seed=0)
    loss = "categorical_crossentropy" if spec["loss"] == "ce" else "mse"
    model.compile(loss=loss, optimizer="adam", lr=spec["lr"], clipnorm=spec.get("clipnorm"),
                  metrics=list(spec.get("metrics", ())))
    return model


def fit_update(model):
    """The update as ``fit`` runs it after its first (checked) one: ``train_step`` with the
    parameters listed once and the argument checks off, where rnnlab's ``train_step`` has those
    options; plain ``train_step`` otherwise. Call it after one checked step."""
    import inspect
    from rnnlab.training import train_step
    if "check" not in inspect.signature(train_step).parameters:
        return lambda x, y: train_step(model, x, y)
    params = model.named_params()
    return lambda x, y: train_step(model, x, y, check=False, params=params)


def make_data(spec: dict, n: int | None = None, seed: int = 1):
    """Random inputs and targets of the spec's shapes: ``n`` samples (default: one batch)."""
    rng = np.random.default_rng(seed)
    n = spec["batch"] if n is None else n
    if spec.get("emb"):
        x = rng.integers(0, spec["emb"][0], (n, spec["steps"]), dtype=np.int64)
    else:
        x = rng.standard_normal((n, spec["steps"], spec["input"])).astype(np.float32)
    yshape = (n, spec["steps"]) if spec["per_step"] else (n,)
    if spec["loss"] == "ce":
        y = rng.integers(0, spec["head"], yshape, dtype=np.int64)
    else:
        y = rng.standard_normal(yshape + (spec["head"],)).astype(np.float32)
    return x, y


class TorchTwin:
    """nn.Embedding? + nn.LSTM/GRU/RNN(num_layers, batch_first) + nn.Linear, Adam, clip_grad_norm_.
    With ``model``, rnnlab's weights are copied in (every torch parameter exactly once)."""

    def __init__(self, spec: dict, model=None) -> None:
        import torch
        nn = torch.nn
        self.torch, self.spec = torch, spec
        self.emb = nn.Embedding(*spec["emb"]) if spec.get("emb") else None
        n_in = spec["emb"][1] if spec.get("emb") else spec["input"]
        self.rnn = getattr(nn, TORCH_CELLS[spec["cell"]])(n_in, spec["hidden"], num_layers=spec.get("layers", 1),
                                                          batch_first=True)
        self.lin = nn.Linear(spec["hidden"], spec["head"])
        self.net = nn.ModuleList([m for m in (self.emb, self.rnn, self.lin) if m is not None])
        if model is not None:
            self._copy_from(model)
        opt = model.optimizer if model is not None else None
        kw = dict(betas=(opt.beta1, opt.beta2), eps=opt.eps) if opt is not None else {}
        self.params = list(self.net.parameters())
        self.opt = torch.optim.Adam(self.params, lr=spec["lr"], **kw)

    def _param(self, name: str, n_layers: int):
        parts = name.split(".")                      # layers.<i>.<param>
        i, p = int(parts[1]), parts[-1]
        if i == 0 and self.emb is not None:
            return self.emb.weight
        if i == n_layers - 1:
            return getattr(self.lin, p)
        return getattr(self.rnn, f"{p}_l{i - (self.emb is not None)}")

    def _copy_from(self, model) -> None:
        torch = self.torch
        done = set()
        with torch.no_grad():
            for name, value, _ in model.named_params():
                t = self._param(name, len(model.layers))
                if tuple(t.shape) != value.shape:
                    raise SystemExit(f"{name}: rnnlab {value.shape} vs torch {tuple(t.shape)}")
                t.copy_(torch.from_numpy(np.ascontiguousarray(value)))
                done.add(id(t))
        missing = [n for n, t in self.net.named_parameters() if id(t) not in done]
        if missing:
            raise SystemExit(f"torch parameters without an rnnlab peer: {missing}")
        self.names = {id(self._param(n, len(model.layers))): n for n, _, _ in model.named_params()}

    def logits(self, x):
        h = self.emb(x) if self.emb is not None else x
        out, _ = self.rnn(h)
        return self.lin(out if self.spec["per_step"] else out[:, -1])

    def loss(self, z, y):
        f = self.torch.nn.functional
        if self.spec["loss"] == "ce":
            return f.cross_entropy(z.reshape(-1, z.shape[-1]), y.reshape(-1))   # mean over all positions
        return f.mse_loss(z, y)

    def train_step(self, x, y):
        self.opt.zero_grad(set_to_none=True)
        z = self.logits(x)
        loss = self.loss(z, y)
        loss.backward()
        if self.spec.get("clipnorm"):
            self.norm = self.torch.nn.utils.clip_grad_norm_(self.params, self.spec["clipnorm"])
        self.opt.step()
        return loss, z

    def predict(self, x):
        """What ``model.predict`` returns: softmax probabilities for "ce", the outputs for "mse"."""
        with self.torch.inference_mode():
            z = self.logits(x)
            return self.torch.softmax(z, dim=-1) if self.spec["loss"] == "ce" else z


def _rel(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


def check_twins(model, twin, x, y, label: str) -> dict:
    """Outputs, loss, gradients, gradient norms (with clipping) and the loss after two Adam updates
    agree, or SystemExit. Leaves both models three updates further (the same updates)."""
    from rnnlab.training import compute_gradients, train_step
    torch = twin.torch
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    with torch.no_grad():
        zt = twin.logits(xt)
        lt = float(twin.loss(zt, yt))
    out = {"logits_rel_err": _rel(model.predict(x, batch_size=len(x), logits=True), zt.numpy()),
           "loss_rel_err": abs(model.loss_value(x, y) - lt) / abs(lt)}
    lr_, _, _, _ = compute_gradients(model, x, y)                 # training forward + backward
    twin.opt.zero_grad(set_to_none=True)
    loss = twin.loss(twin.logits(xt), yt)
    loss.backward()
    grads = {twin.names[id(p)]: p.grad.numpy() for p in twin.params}
    lt = float(loss.detach())
    out["train_loss_rel_err"] = abs(lr_ - lt) / abs(lt)
    out["grad_rel_err"] = max(float(np.linalg.norm(g - grads[n]) / max(np.linalg.norm(grads[n]), 1e-30))
                              for n, _, g in model.named_params())
    for _ in range(3):                        # the last loss shows two Adam updates (and clipping)
        l_r, *_, norm_r = train_step(model, x, y)
        l_t = twin.train_step(xt, yt)[0].item()
        if twin.spec.get("clipnorm"):         # norms before clipping: rnnlab's returned, torch's clip_grad_norm_
            out["grad_norm_rel_err"] = max(out.get("grad_norm_rel_err", 0.0), abs(norm_r - float(twin.norm)) / float(twin.norm))
    out["loss_after_update_rel_err"] = abs(l_r - l_t) / abs(l_t)
    bad = {k: v for k, v in out.items() if not v <= (GRAD_TOL if k.startswith("grad") else TOL)}
    if bad:
        raise SystemExit(f"{label}: rnnlab and torch disagree: " + ", ".join(f"{k} {v:.2e}" for k, v in bad.items()))
    return {k: float(f"{v:.3g}") for k, v in out.items()}


# -- threads ----------------------------------------------------------------------------------
_TORCH_DEFAULT = None


def pin_threads(n) -> str:
    """Both libraries to ``n`` threads (NumPy's BLAS through threadpoolctl, via rnnlab's policy n,
    which holds it there; torch.set_num_threads). ``"auto"``: rnnlab's automatic policy and torch's
    default. Returns what the BLAS libraries report."""
    global _TORCH_DEFAULT
    import torch
    from rnnlab import threads as rthreads
    from threadpoolctl import threadpool_info
    _TORCH_DEFAULT = _TORCH_DEFAULT or torch.get_num_threads()
    if n == "auto":
        rthreads.set_policy("auto")
        torch.set_num_threads(_TORCH_DEFAULT)
    else:
        rthreads.set_policy(int(n))
        torch.set_num_threads(int(n))
    blas = sorted({d["num_threads"] for d in threadpool_info() if d.get("user_api") == "blas"})
    return f"BLAS {blas}, torch {torch.get_num_threads()}"


# -- peak memory (run in a fresh process per library) -------------------------------------------
def _maxrss_mb() -> float:
    """Peak resident memory of this process, MB: VmHWM of /proc/self/status (Linux), else ru_maxrss.
    getrusage(RUSAGE_SELF).ru_maxrss is not used on Linux because a process started by
    fork + exec starts with its parent's peak in it (the kernel carries the old address space's
    high-water mark across exec): from this script's parent (torch loaded, ~300 MB) every child's
    baseline would read ~300 MB and a step smaller than that would read 0. VmHWM belongs to the
    address space exec created, so it starts from zero; it is the same quantity otherwise."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0                    # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0     # Linux: KiB; macOS: bytes


def memory_child(lib: str, spec: dict, threads, warmup: int, steps: int) -> dict:
    """In this (fresh) process: imports (rnnlab's Numba kernels module included) and data, then
    ``base``; one step of a tiny model of the same kind (one-off runtime set-up: Numba loads its
    compiled kernels, torch its first-op state), then ``warm``; then the model, ``warmup`` +
    ``steps`` training steps, ``peak``. torch's twin keeps its own initialisation (weights do not
    change memory), so rnnlab is never imported beside torch."""
    tiny = dict(spec, hidden=4, batch=2, steps=3, **({"emb": (5, 3), "head": 5} if spec.get("emb") else {}))
    if lib == "torch":
        import torch
        if threads != "auto":
            torch.set_num_threads(int(threads))
            from threadpoolctl import threadpool_limits
            threadpool_limits(int(threads), user_api="blas")
        data = [tuple(torch.from_numpy(a) for a in make_data(s)) for s in (tiny, spec)]
        base = _maxrss_mb()
        TorchTwin(tiny).train_step(*data[0])
        warm = _maxrss_mb()
        twin = TorchTwin(spec)
        step = lambda: twin.train_step(*data[1])                     # noqa: E731
    else:
        from rnnlab import threads as rthreads
        from rnnlab.cells import _kernels
        from rnnlab.training import train_step
        _kernels.backend()                                           # imports numba, if present
        rthreads.set_policy("auto" if threads == "auto" else int(threads))
        data = [make_data(s) for s in (tiny, spec)]
        base = _maxrss_mb()
        train_step(build_rnnlab(tiny), *data[0])
        warm = _maxrss_mb()
        model = build_rnnlab(spec)
        train_step(model, *data[1])                                  # the checked first update, as fit
        update = fit_update(model)
        step = lambda: update(*data[1])                              # noqa: E731
        warmup -= 1
    for _ in range(warmup + steps):
        step()
    peak = _maxrss_mb()
    return {"lib": lib, "baseline_mb": round(base, 1), "runtime_init_mb": round(warm - base, 1),
            "peak_mb": round(peak, 1), "step_mb": round(peak - base, 1), "step_warm_mb": round(peak - warm, 1),
            "ru_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)}


def measure_memory(name: str, threads, quick: bool) -> dict:
    """Run ``memory_child`` for each library in its own subprocess (this script with --_mem)."""
    out = {}
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models_vs_torch.py")
    for lib in ("rnnlab", "torch"):
        t0 = time.perf_counter()
        cmd = [sys.executable, script, "--_mem", f"{lib}:{name}", "--threads", str(threads)] + (["--quick"] if quick else [])
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise SystemExit(f"memory subprocess {lib}:{name} failed:\n{res.stderr[-2000:]}")
        out[lib] = json.loads(res.stdout.strip().splitlines()[-1])
        out[lib]["seconds"] = round(time.perf_counter() - t0, 1)
    return out
