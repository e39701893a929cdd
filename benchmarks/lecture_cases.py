"""The lecture's two small cases end to end, with the reference implementation's settings.

    python benchmarks/lecture_cases.py                  # both cases, rnnlab and a PyTorch twin
    python benchmarks/lecture_cases.py --json out.json --no-torch

The lecture's table of settings (its reference implementation) — both cases train with
**batch size 1** and plain **SGD**:

| case        | steps | output                      | loss                 | bias | batch |
|-------------|-------|-----------------------------|----------------------|------|-------|
| echo        | 2     | regression, last step       | MSE (reported as /2) | yes  | 1     |
| subtraction | 4     | logistic, every step        | binary cross-entropy | no   | 1     |

What is timed: ``Sequential.fit(batch_size=1)`` with SGD, in chunks of ``--check-every``
sequences (a new shuffle each epoch), until the goal is reached, checked on **held-out** data
after every chunk:

* echo: held-out test loss MSE/2 <= 0.002230, the reference implementation's reported test loss;
* subtraction (4-bit numbers, hidden 4 — the lecture's net): 100 % of the **unseen** pairs exactly
  right (the reference measured its training set). Half of the 136 pairs ``a >= b`` train, the
  other half test.

Reported: sequences (and epochs) to the goal, wall time of the training (the checks excluded)
and in total (checks included), after an untimed warm-up (imports, kernel compilation), and the same
loop in PyTorch (``nn.RNN`` + ``nn.Linear``, same initial weights, SGD, batch 1, one
``optimizer.step()`` per sequence) for scale. Both run single-threaded (batch 1: threads
cannot help).

**Per update** (``--update-hidden``, the echo net of hidden 1–4, 2 steps, batch 1, plain SGD): the
cost of one update of ``model.fit(x, y, epochs=1, batch_size=1, shuffle=False, verbose=0)`` over
``--update-samples`` sequences, against a replica of the reference implementation's hand-unrolled
NumPy loop written from the lecture's formulas (:func:`echo_replica_fit`)::

    h_t = x_t·U + s_{t-1}·W + b   (s_0 = 0),   s_t = tanh(h_t),   z = s_2·V + c,   loss = (z - y)²/2

BPTT over the two steps by hand, then per sample p <- p - lr·dp for U, W, b, V, c. Both start
from the same weights; before timing, the replica's weights after one update are checked against
``fit``'s (``MSE(half=True)``: the same gradient z - y). Reported: µs per update, median of
``--update-repeats`` interleaved runs (fit / replica / fit / …), and the ratio fit / replica
(<= 1: ``fit`` costs no more than the hand-written loop).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

ECHO_GOAL = 0.002230          # reference implementation: test loss (MSE/2)


def echo_data(seed: int):
    from rnnlab.data.synthetic import echo_signal
    rng = np.random.default_rng(seed)
    x_tr, y_tr = echo_signal(1000, 2, rng=rng)
    x_te, y_te = echo_signal(1000, 2, rng=rng)
    return x_tr, y_tr, x_te, y_te


def subtraction_data(seed: int, bits: int = 4):
    from rnnlab.data.synthetic import all_subtraction_pairs, binary_subtraction
    pairs = all_subtraction_pairs(bits)
    order = np.random.default_rng(seed).permutation(len(pairs))
    half = len(pairs) // 2
    x_tr, y_tr = binary_subtraction(pairs[order[:half]], bits)
    x_te, y_te = binary_subtraction(pairs[order[half:]], bits)
    return x_tr, y_tr, x_te, y_te


def build(case: str, hidden: int, lr: float, seed: int):
    import rnnlab
    if case == "echo":
        layers = [rnnlab.SimpleRNN(hidden), rnnlab.Dense(1)]
        loss, f = "mse", 1
    else:
        layers = [rnnlab.SimpleRNN(hidden, return_sequences=True, use_bias=False), rnnlab.Dense(1, use_bias=False)]
        loss, f = "binary_crossentropy", 2
    model = rnnlab.Sequential(layers, input_size=f, seed=seed)
    model.compile(loss=loss, optimizer="sgd", lr=lr)
    return model


def goal_reached(case: str, pred: np.ndarray, y: np.ndarray) -> tuple[bool, float]:
    if case == "echo":
        v = float(np.mean((pred - y) ** 2) / 2)
        return v <= ECHO_GOAL, v
    exact = float(np.mean(np.all((pred[..., 0] > 0.5) == (y[..., 0] > 0.5), axis=1)))
    return exact >= 1.0, exact


def warm_up(case: str, data, hidden: int, lr: float, seed: int) -> None:
    """One short fit first, so that one-time costs (imports, kernel compilation) are not timed."""
    build(case, hidden, lr, seed).fit(data[0][:8], data[1][:8], epochs=1, batch_size=1, verbose=0)


def run_rnnlab(case: str, data, hidden: int, lr: float, seed: int, check_every: int, max_seconds: float) -> dict:
    x_tr, y_tr, x_te, y_te = data
    model = build(case, hidden, lr, seed)
    rng = np.random.default_rng(seed)
    train_s, t0, seen, value, done = 0.0, time.perf_counter(), 0, None, False
    while not done and time.perf_counter() - t0 < max_seconds:
        order = rng.permutation(len(x_tr))                   # an epoch, in chunks between checks
        for i in range(0, len(order), check_every):
            idx = order[i:i + check_every]
            t1 = time.perf_counter()
            model.fit(x_tr[idx], y_tr[idx], epochs=1, batch_size=1, shuffle=False, verbose=0)
            train_s += time.perf_counter() - t1
            seen += len(idx)
            done, value = goal_reached(case, model.predict(x_te), y_te)
            if done:
                break
    return {"library": "rnnlab", "reached": done, "sequences": seen, "epochs": round(seen / len(x_tr), 2),
            "train_seconds": round(train_s, 3), "total_seconds": round(time.perf_counter() - t0, 3),
            "final_metric": value, "train_seq_per_s": round(seen / train_s, 1)}


def run_torch(case: str, data, hidden: int, lr: float, seed: int, weights: dict, check_every: int,
              max_seconds: float) -> dict:
    import torch
    x_tr, y_tr, x_te, y_te = (torch.from_numpy(np.ascontiguousarray(a)) for a in data)
    f = x_tr.shape[2]
    bias = case == "echo"
    rnn = torch.nn.RNN(f, hidden, batch_first=True, bias=bias)
    lin = torch.nn.Linear(hidden, 1, bias=bias)
    with torch.no_grad():
        for name, w in weights.items():
            key = name.split(".")[-1]
            target = getattr(lin, key) if name.startswith("layers.1.") else getattr(rnn, key + "_l0")
            target.copy_(torch.from_numpy(w))
    opt = torch.optim.SGD(list(rnn.parameters()) + list(lin.parameters()), lr=lr)
    rng = np.random.default_rng(seed)

    def logits(x):
        out, _ = rnn(x)
        return lin(out[:, -1] if case == "echo" else out)

    loss_fn = torch.nn.functional.mse_loss if case == "echo" else torch.nn.functional.binary_cross_entropy_with_logits
    for i in range(8):                                       # warm-up, not timed, weights restored
        state = [p.detach().clone() for p in opt.param_groups[0]["params"]]
        loss_fn(logits(x_tr[i:i + 1]), y_tr[i:i + 1]).backward()
    with torch.no_grad():
        for p, s in zip(opt.param_groups[0]["params"], state):
            p.copy_(s)
            p.grad = None
    train_s, t0, seen, value, done = 0.0, time.perf_counter(), 0, None, False
    while not done and time.perf_counter() - t0 < max_seconds:
        order = rng.permutation(len(x_tr))
        for i in range(0, len(order), check_every):
            idx = order[i:i + check_every]
            t1 = time.perf_counter()
            for j in idx:
                opt.zero_grad(set_to_none=True)
                loss_fn(logits(x_tr[j:j + 1]), y_tr[j:j + 1]).backward()
                opt.step()
            train_s += time.perf_counter() - t1
            seen += len(idx)
            with torch.inference_mode():
                z = logits(x_te)
                pred = (z if case == "echo" else torch.sigmoid(z)).numpy()
            done, value = goal_reached(case, pred, y_te.numpy())
            if done:
                break
    return {"library": "torch", "reached": done, "sequences": seen, "epochs": round(seen / len(x_tr), 2),
            "train_seconds": round(train_s, 3), "total_seconds": round(time.perf_counter() - t0, 3),
            "final_metric": value, "train_seq_per_s": round(seen / train_s, 1)}


def echo_replica_fit(w: dict, x: np.ndarray, y: np.ndarray, lr: float) -> dict:
    """The reference implementation's training loop for the echo net, from the lecture's formulas:
    two time steps unrolled by hand, batch 1, loss (z - y)²/2 at the last step, plain SGD per sample.

    ``w``: U (F, H), W (H, H), b (1, H), V (H, 1), c (1, 1); updated in place and returned.
    """
    U, W, b, V, c = w["U"], w["W"], w["b"], w["V"], w["c"]
    for i in range(x.shape[0]):
        x1, x2, yi = x[i, 0:1], x[i, 1:2], y[i:i + 1]       # (1, F), (1, F), (1, 1)
        # forward, time step 1 (no previous state) and time step 2 (with the output)
        h1 = np.dot(x1, U) + b
        s1 = np.tanh(h1)
        h2 = np.dot(x2, U) + np.dot(s1, W) + b
        s2 = np.tanh(h2)
        z = np.dot(s2, V) + c
        # backward through time: step 2, then step 1 (no later step feeds it but step 2's W)
        dz = z - yi
        dh2 = np.dot(dz, V.T) * (1 - s2 * s2)
        dh1 = np.dot(dh2, W.T) * (1 - s1 * s1)
        dV, dc = np.dot(s2.T, dz), dz
        dW = np.dot(s1.T, dh2)
        dU = np.dot(x1.T, dh1) + np.dot(x2.T, dh2)
        db = dh1 + dh2
        # per-sample SGD
        U -= lr * dU
        W -= lr * dW
        b -= lr * db
        V -= lr * dV
        c -= lr * dc
    return w


def replica_weights(model) -> dict:
    """The model's weights in the lecture's layout (b = bias_ih + bias_hh: one bias, as in the lecture)."""
    g = model.get_weights()
    return {"U": np.ascontiguousarray(g["layers.0.weight_ih"].T), "W": np.ascontiguousarray(g["layers.0.weight_hh"].T),
            "b": (g["layers.0.bias_ih"] + g["layers.0.bias_hh"])[None, :].copy(),
            "V": np.ascontiguousarray(g["layers.1.weight"].T), "c": g["layers.1.bias"][None, :].copy()}


def check_replica(hidden: int, x: np.ndarray, y: np.ndarray, lr: float, seed: int) -> float:
    """Largest difference between the replica's weights and ``fit``'s after one update from the same
    weights (``fit`` with ``MSE(half=True)``, whose gradient is the replica's z - y). ``fit`` has two
    biases (bias_ih, bias_hh) that each move by lr·db where the lecture's single b moves once: b's
    step is compared as half the step of their sum."""
    import rnnlab

    def make():
        m = rnnlab.Sequential([rnnlab.SimpleRNN(hidden), rnnlab.Dense(1)], input_size=x.shape[2], seed=seed)
        return m.compile(loss=rnnlab.losses.MSE(half=True), optimizer="sgd", lr=lr)
    model = make()
    w0 = replica_weights(model)
    w = {k: v.copy() for k, v in w0.items()}
    model.fit(x[:1], y[:1], epochs=1, batch_size=1, shuffle=False, verbose=0)
    echo_replica_fit(w, x[:1], y[:1], lr)
    got = replica_weights(model)
    diff = max(float(np.max(np.abs(got[k] - w[k]))) for k in ("U", "W", "V", "c"))
    return max(diff, float(np.max(np.abs((got["b"] - w0["b"]) / 2 - (w["b"] - w0["b"])))))


def per_update_rows(hiddens, samples: int, repeats: int, lr: float, seed: int) -> list[dict]:
    """µs per update: ``fit(batch_size=1)`` on the echo net vs :func:`echo_replica_fit`."""
    import statistics
    import rnnlab
    from rnnlab.data.synthetic import echo_signal
    x, y = echo_signal(samples, 2, rng=np.random.default_rng(seed))

    def make(hidden):
        m = rnnlab.Sequential([rnnlab.SimpleRNN(hidden), rnnlab.Dense(1)], input_size=1, seed=seed)
        return m.compile(loss="mse", optimizer="sgd", lr=lr)

    rows = []
    for hidden in hiddens:
        diff = check_replica(hidden, x, y, lr, seed)
        if diff > 1e-5:
            raise SystemExit(f"echo replica disagrees with fit (hidden {hidden}): max |diff| {diff:.3g}")
        make(hidden).fit(x[:16], y[:16], epochs=1, batch_size=1, shuffle=False, verbose=0)   # warm-up
        echo_replica_fit(replica_weights(make(hidden)), x[:16], y[:16], lr)
        t_fit, t_rep = [], []
        for _ in range(repeats):                         # interleaved: a load change hits both
            model = make(hidden)
            t0 = time.perf_counter()
            model.fit(x, y, epochs=1, batch_size=1, shuffle=False, verbose=0)
            t_fit.append((time.perf_counter() - t0) / samples * 1e6)
            w = replica_weights(make(hidden))
            t0 = time.perf_counter()
            echo_replica_fit(w, x, y, lr)
            t_rep.append((time.perf_counter() - t0) / samples * 1e6)
        f, r = statistics.median(t_fit), statistics.median(t_rep)
        rows.append({"case": "echo per update", "hidden": hidden, "steps": 2, "batch": 1, "samples": samples,
                     "repeats": repeats, "fit_us_per_update": round(f, 1), "replica_us_per_update": round(r, 1),
                     "ratio_fit_over_replica": round(f / r, 2), "replica_max_diff": diff,
                     "fit_us_runs": [round(v, 1) for v in t_fit], "replica_us_runs": [round(v, 1) for v in t_rep]})
    return rows


CASES = {  # case: (data, hidden, lr, goal text)
    "echo": (echo_data, 4, 0.1, f"held-out test MSE/2 <= {ECHO_GOAL} (reference)"),
    "subtraction": (subtraction_data, 4, 0.1, "100% of unseen 4-bit pairs exactly right"),
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", metavar="FILE", help="write the results as JSON")
    p.add_argument("--cases", default="echo,subtraction")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--check-every", type=int, default=20, help="sequences between checks of the goal")
    p.add_argument("--max-seconds", type=float, default=120.0, help="give up after this long per run")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch twin")
    p.add_argument("--update-hidden", default="1,2,3,4",
                   help="hidden sizes of the per-update row (echo net, fit vs the reference's loop); '' skips it")
    p.add_argument("--update-samples", type=int, default=2000, help="sequences per timed run of the per-update row")
    p.add_argument("--update-repeats", type=int, default=7, help="interleaved runs per library (median)")
    args = p.parse_args(argv)

    from rnnlab import threads
    threads.set_policy(1)
    torch_ok = not args.no_torch
    if torch_ok:
        try:
            import torch
            torch.set_num_threads(1)
        except ImportError:
            torch_ok = False
    out = {"results": [], "loadavg_start": " ".join(f"{v:.2f}" for v in os.getloadavg())}
    print(f"lecture cases, batch 1, SGD, single-threaded; load average {out['loadavg_start']}")
    print(f"{'case':<12s} {'library':<7s} {'goal':<46s} {'reached':>7s} {'seqs':>6s} {'epochs':>6s} "
          f"{'train s':>8s} {'total s':>8s} {'seq/s':>8s} {'final':>9s}")
    for case in [c for c in args.cases.split(",") if c]:
        make_data, hidden, lr, goal = CASES[case]
        data = make_data(args.seed)
        warm_up(case, data, hidden, lr, args.seed)
        runs = [run_rnnlab(case, data, hidden, lr, args.seed, args.check_every, args.max_seconds)]
        if torch_ok:
            init = build(case, hidden, lr, args.seed).get_weights()     # the same initial weights
            runs.append(run_torch(case, data, hidden, lr, args.seed, init, args.check_every, args.max_seconds))
        for r in runs:
            r.update(case=case, goal=goal, hidden=hidden, lr=lr, train_sequences=len(data[0]))
            out["results"].append(r)
            print(f"{case:<12s} {r['library']:<7s} {goal:<46s} {str(r['reached']):>7s} {r['sequences']:>6d} {r['epochs']:>6.2f} "
                  f"{r['train_seconds']:>8.2f} {r['total_seconds']:>8.2f} {r['train_seq_per_s']:>8,.0f} "
                  f"{r['final_metric']:>9.5f}")
    hiddens = [int(h) for h in args.update_hidden.split(",") if h.strip()]
    if hiddens:
        print(f"\necho net per update: fit(batch_size=1, shuffle=False) vs the reference's hand-unrolled "
              f"NumPy loop, {args.update_samples} sequences, median of {args.update_repeats} interleaved runs")
        print(f"{'hidden':>6s} {'fit µs':>8s} {'replica µs':>10s} {'fit/replica':>11s}   runs (fit | replica)")
        out["per_update"] = per_update_rows(hiddens, args.update_samples, args.update_repeats,
                                            CASES["echo"][2], args.seed)
        for r in out["per_update"]:
            print(f"{r['hidden']:>6d} {r['fit_us_per_update']:>8.1f} {r['replica_us_per_update']:>10.1f} "
                  f"{r['ratio_fit_over_replica']:>11.2f}   {r['fit_us_runs']} | {r['replica_us_runs']}")
    out["loadavg_end"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)
            fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
