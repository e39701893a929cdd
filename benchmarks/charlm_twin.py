"""The PyTorch twin of ``rnnlab run charlm``: the peer its test loss is judged against.

Same architecture (Embedding → stacked LSTM, each followed by dropout with one mask per sequence
(rnnlab's ``Dropout(per_sequence=True)``) when ``--dropout`` > 0 → Linear), the **same initial weights** (copied from
the rnnlab model that ``rnnlab run charlm`` builds for the same seed), the same data order (the
task's own stream layout, batches in order, states carried across batches and detached: truncated
BPTT), the same optimizer (Adam, PyTorch's update rule, which rnnlab's follows; global-norm
clipping; learning rate × ``lr_decay`` after every epoch) and the same early stopping (validation
loss, patience 2, best weights restored). The test loss is scored on the same characters.

    python benchmarks/charlm_twin.py [--threads 2] [--json out.json] [task options, e.g. --hidden 384]

Prints the test loss (nats and bits per character), updates and wall time.
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def main(argv=None) -> int:
    import torch
    from rnnlab.tasks import charlm
    from rnnlab.tasks.charlm.data import make_data, read_text

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    p.add_argument("--json", type=Path, default=None)
    for name in ("hidden", "layers", "embedding", "epochs", "batch_size", "steps", "eval_streams", "seed", "ngram"):
        p.add_argument(f"--{name.replace('_', '-')}", type=int, default=None)
    for name in ("lr", "lr_decay", "clipnorm", "dropout"):
        p.add_argument(f"--{name.replace('_', '-')}", type=float, default=None)
    p.add_argument("--text", default=None)
    p.add_argument("--split", default=None)
    args = p.parse_args(argv)
    cfg = charlm.Config(**{k: v for k, v in vars(args).items() if k not in ("threads", "json") and v is not None})
    if cfg.cell != "lstm" or not cfg.embedding:
        raise SystemExit("the twin covers the default architecture: LSTM with an embedding")
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(cfg.seed)

    text, source = read_text(cfg.text)
    data = make_data(text, source, cfg.batch_size, cfg.steps, cfg.val_fraction, cfg.test_fraction, cfg.eval_streams,
                     cfg.split)
    model = charlm.build_model(cfg, data.vocab)          # the rnnlab model: its initial weights
    V, B = len(data.vocab), cfg.batch_size
    nn = torch.nn
    emb = nn.Embedding(V, cfg.embedding)
    rnns = nn.ModuleList([nn.LSTM(cfg.embedding if k == 0 else cfg.hidden, cfg.hidden, batch_first=True)
                          for k in range(cfg.layers)])
    lin = nn.Linear(cfg.hidden, V)
    net = nn.ModuleList([emb, rnns, lin])
    weights = model.get_weights()
    names = [n for n, _, _ in model.named_params()]
    recurrent = sorted({n.split(".")[1] for n in names if "weight_hh" in n}, key=int)
    with torch.no_grad():
        for name, value in weights.items():
            _, index, param = name.split(".")
            if int(index) == 0:
                target = emb.weight
            elif index in recurrent:
                target = getattr(rnns[recurrent.index(index)], f"{param}_l0")
            else:
                target = getattr(lin, param)
            target.copy_(torch.from_numpy(np.ascontiguousarray(value)))
    opt = model.optimizer
    adam = torch.optim.Adam(net.parameters(), lr=cfg.lr, betas=(opt.beta1, opt.beta2), eps=opt.eps)

    def batches(part):
        x, y = data.streams[part]
        x, y = torch.from_numpy(x), torch.from_numpy(y)
        rows = B if part == "train" else cfg.eval_streams
        return [(x[i:i + rows], y[i:i + rows]) for i in range(0, len(x), rows)]

    def forward(xb, states, training: bool):
        """Logits and the new states (one (h, c) per layer); dropout: one mask per sequence."""
        h, new = emb(xb), []
        for k, rnn in enumerate(rnns):
            h, st = rnn(h, None if states is None else states[k])
            new.append(st)
            if training and cfg.dropout > 0:
                keep = 1.0 - cfg.dropout
                h = h * (torch.rand(h.shape[0], 1, h.shape[2]) < keep).to(h.dtype) / keep
        return lin(h), new

    def stream_loss(part) -> float:
        total, count, state = 0.0, 0, None
        with torch.inference_mode():
            for xb, yb in batches(part):
                z, state = forward(xb, state, False)
                total += float(nn.functional.cross_entropy(z.reshape(-1, V), yb.reshape(-1), reduction="sum"))
                count += yb.numel()
        return total / count

    train = batches("train")
    with torch.inference_mode():                       # the twins agree before training starts
        ours = model.predict(data.streams["train"][0][:B], batch_size=B, logits=True)
        theirs = forward(train[0][0], None, False)[0].numpy()
    model.reset_states()
    gap = float(np.abs(ours - theirs).max())
    if gap > 1e-4:
        raise SystemExit(f"the twins disagree before training: max |logit difference| {gap:.3g}")
    print(f"twins agree before training: max |logit difference| {gap:.2g}", flush=True)
    best, best_state, wait, updates, history = float("inf"), None, 0, 0, []
    t_start = time.perf_counter()
    for epoch in range(cfg.epochs):
        t0 = time.perf_counter()
        for g in adam.param_groups:
            g["lr"] = cfg.lr * cfg.lr_decay ** epoch
        state, total = None, 0.0
        for xb, yb in train:
            adam.zero_grad(set_to_none=True)
            z, state = forward(xb, state, True)
            state = [tuple(s.detach() for s in st) for st in state]
            loss = nn.functional.cross_entropy(z.reshape(-1, V), yb.reshape(-1))
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), cfg.clipnorm)
            adam.step()
            updates += 1
            total += loss.item()
        val = stream_loss("val")
        history.append({"epoch": epoch + 1, "loss": total / len(train), "val_loss": val,
                        "time": time.perf_counter() - t0})
        print(f"epoch {epoch + 1}/{cfg.epochs}  loss {total / len(train):.4f}  val_loss {val:.4f}  "
              f"time {time.perf_counter() - t0:.1f}s", flush=True)
        if val < best:
            best, best_state, wait = val, copy.deepcopy(net.state_dict()), 0
        else:
            wait += 1
            if wait >= 2:
                break
    seconds = time.perf_counter() - t_start
    net.load_state_dict(best_state)
    test = stream_loss("test")
    doc = {"library": "torch " + torch.__version__, "threads": torch.get_num_threads(), "config": vars(cfg),
           "test_nats_per_char": test, "test_bits_per_char": test / np.log(2), "val_nats_per_char": best,
           "updates": updates, "train_seconds": seconds, "history": history}
    print(f"torch twin: test {test:.4f} nats/char ({test / np.log(2):.4f} bits), {updates} updates, "
          f"{seconds / 60:.1f} min")
    if args.json:
        args.json.write_text(json.dumps(doc, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
