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
    out["loadavg_end"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)
            fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
