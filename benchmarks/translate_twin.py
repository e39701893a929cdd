"""The PyTorch twin of ``rnnlab run translate``: the peer its test BLEU is judged against.

Same architecture as the rnnlab model the task builds for the same options (embedding →
dropout → bidirectional GRU/LSTM encoder, packed sequences → context ``c`` (last / transform /
pool) → decoder GRU/LSTM with ``c`` as its initial state or at every step → attention (general /
dot / additive / none) → ``tanh(W_c[a; s] + b_c)`` → dropout → linear), the **same initial
weights** (copied from that rnnlab model), the same data (the task's split, vocabularies and
tokenisation), the same optimizer (Adam, lr × ``lr_decay`` per epoch, global-norm clipping at 5),
bucketed batches of the same size, the same early stopping (validation loss, patience 2, best
weights restored) and at most the same number of epochs — ``--run RUN`` reads them from a
finished ``rnnlab run translate`` folder so that the number of updates matches. The test set
is translated by the same decoding code (:mod:`rnnlab.decoding`: greedy and batched beam search
over this model's steps) and scored by the same sacrebleu calls.

    python benchmarks/translate_twin.py --run /work/runs/translate-best [--threads 1] [--json twin.json]

Dropout masks and batch order come from torch's and NumPy's own generators, so the two runs
are twins in everything but their random draws.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def build_twin(m):
    """A torch module with the rnnlab Seq2Seq ``m``'s architecture and weights."""
    import torch
    from torch import nn
    from rnnlab.interop.torch import copy_rnn_params

    if m.n_layers != 1:
        raise SystemExit("the twin covers one encoder and one decoder layer")
    kind = {"gru": "GRU", "lstm": "LSTM"}.get(m.cell)
    if kind is None:
        raise SystemExit(f"the twin covers gru and lstm cells, not {m.cell}")
    t = lambda a: torch.from_numpy(np.array(a, dtype=np.float32))        # noqa: E731

    class Twin(nn.Module):
        def __init__(self):
            super().__init__()
            self.src_embed = nn.Embedding(m.in_vocab, m.embed)
            self.tgt_embed = nn.Embedding(m.out_vocab, m.embed)
            self.encoder = getattr(nn, kind)(m.embed, m.hidden, batch_first=True, bidirectional=m.bidirectional)
            dec_in = m.embed + (m.d_model if m.structure == "context" else 0)
            self.decoder = getattr(nn, kind)(dec_in, m.d_model, batch_first=True)
            self.out = nn.Linear(m.d_model, m.out_vocab)
            with torch.no_grad():
                self.src_embed.weight.copy_(t(m.src_embed.params["weight"]))
                self.tgt_embed.weight.copy_(t(m.tgt_embed.params["weight"]))
                if m.bidirectional:
                    copy_rnn_params(m.encoder.forward_layer, self.encoder, "_l0")
                    copy_rnn_params(m.encoder.backward_layer, self.encoder, "_l0_reverse")
                else:
                    copy_rnn_params(m.encoder, self.encoder, "_l0")
                copy_rnn_params(m.decoder, self.decoder, "_l0")
                self.out.weight.copy_(t(m.out.params["weight"]))
                self.out.bias.copy_(t(m.out.params["bias"]))
            self.bridge = self._linear(m.bridge)
            self.combine = self._linear(m.combine)
            self.attn = nn.ParameterDict({k: nn.Parameter(t(v)) for k, v in (m.attn.params if m.attn else {}).items()})

        @staticmethod
        def _linear(layer):
            if layer is None:
                return None
            lin = nn.Linear(layer.input_size, layer.units)
            with torch.no_grad():
                lin.weight.copy_(t(layer.params["weight"]))
                lin.bias.copy_(t(layer.params["bias"]))
            return lin

        def drop(self, x):
            if not self.training or m.dropout == 0:
                return x
            keep = 1.0 - m.dropout                       # one mask per sequence (rnnlab's per_sequence)
            return x * torch.bernoulli(torch.full((x.shape[0], 1, x.shape[2]), keep)) / keep

        def encode(self, src, mask):
            lengths = mask.sum(1)
            packed = nn.utils.rnn.pack_padded_sequence(self.drop(self.src_embed(src)), lengths.cpu(),
                                                       batch_first=True, enforce_sorted=False)
            out, fin = self.encoder(packed)
            enc, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
            fin = fin if isinstance(fin, tuple) else (fin,)
            finals = tuple(torch.cat([f[0], f[1]], 1) if m.bidirectional else f[0] for f in fin)
            if m.context == "last":
                c = finals[0]
            else:
                summary = finals[0] if m.context == "transform" else \
                    (enc * mask[:, :, None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
                c = torch.tanh(self.bridge(summary))
            if m.structure == "state":
                init = tuple(s[None] for s in finals) if m.context == "last" else \
                    (c[None],) + tuple(torch.zeros_like(c)[None] for _ in fin[1:])
            else:
                init = tuple(torch.zeros_like(c)[None] for _ in fin)
            return enc, c, init if kind == "LSTM" else init[0]

        def attend(self, s, enc, mask):
            a = self.attn
            if m.attention_kind == "additive":
                z = torch.tanh((s @ a["query_weight"].T)[:, :, None] + (enc @ a["key_weight"].T)[:, None] + a["bias"])
                e = z @ a["v"]
            else:
                q = s @ a["weight"] if m.attention_kind == "general" else s
                e = q @ enc.transpose(1, 2)
            alpha = torch.softmax(e.masked_fill(~mask[:, None, :], float("-inf")), dim=-1)
            return torch.tanh(self.combine(torch.cat([alpha @ enc, s], 2))), alpha

        def decode(self, dec_in, enc, c, state, mask):
            e = self.drop(self.tgt_embed(dec_in))
            if m.structure == "context":
                e = torch.cat([e, c[:, None, :].expand(-1, e.shape[1], -1)], 2)
            s, state = self.decoder(e, state)
            alpha = None
            if m.attention_kind != "none":
                s, alpha = self.attend(s, enc, mask)
            return self.out(self.drop(s)), state, alpha

    return Twin()


class Stepper:
    """The decoding protocol of :mod:`rnnlab.decoding` over the torch twin (numpy state in and out)."""

    def __init__(self, net, m):
        self.net, self.out_vocab, self.bos, self.eos = net, m.out_vocab, m.bos, m.eos
        self.src_vocab, self.tgt_vocab, self.lstm = m.src_vocab, m.tgt_vocab, m.cell == "lstm"

    def decode_start(self, src, src_mask=None):
        import torch
        mask = np.ones(src.shape, bool) if src_mask is None else np.asarray(src_mask, bool)
        with torch.no_grad():
            enc, c, init = self.net.encode(torch.from_numpy(np.asarray(src)), torch.from_numpy(mask))
        states = tuple(s[0].numpy() for s in (init if self.lstm else (init,)))
        return {"enc": enc.numpy(), "mask": mask, "c": c.numpy(), "states": states}

    def decode_step(self, tokens, state):
        import torch
        st = tuple(torch.from_numpy(np.ascontiguousarray(s))[None] for s in state["states"])
        with torch.no_grad():
            z, new, alpha = self.net.decode(torch.from_numpy(np.asarray(tokens, np.int64))[:, None],
                                            torch.from_numpy(state["enc"]), torch.from_numpy(state["c"]),
                                            st if self.lstm else st[0], torch.from_numpy(state["mask"]))
        new = new if self.lstm else (new,)
        return (z[:, 0].numpy(), {**state, "states": tuple(s[0].numpy() for s in new)},
                None if alpha is None else alpha[:, 0].numpy())


def main(argv=None) -> int:
    import torch
    import torch.nn.functional as F
    from rnnlab.decoding import beam_search
    from rnnlab.tasks import translate as task
    from rnnlab.tasks.translate.baselines import bleu_chrf
    from rnnlab.tasks.translate.data import encode_pairs, make_vocabularies, read_pairs, split_pairs
    from rnnlab.tasks.translate.predict import translate
    from rnnlab.training import batches as B

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", type=Path, default=None, help="a finished rnnlab run: its config and epochs")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--epochs", type=int, default=None)
    for name in ("hidden", "embedding", "max_pairs"):
        p.add_argument(f"--{name.replace('_', '-')}", type=int, default=None, help="override the run's option")
    p.add_argument("--attention", default=None, help="override the run's attention")
    args = p.parse_args(argv)
    cfg, max_epochs = task.Config(), None
    if args.run is not None:
        doc = json.loads((args.run / "metrics.json").read_text())
        fields = {f.name for f in dataclasses.fields(task.Config)}
        cfg = task.Config(**{k: v for k, v in doc["hyperparameters"].items() if k in fields})
        max_epochs = doc["metrics"]["epochs_run"]
    cfg = dataclasses.replace(cfg, **{k: getattr(args, k) for k in ("hidden", "embedding", "max_pairs", "attention")
                                      if getattr(args, k) is not None})
    max_epochs = args.epochs or max_epochs or cfg.epochs
    torch.set_num_threads(args.threads)
    torch.manual_seed(cfg.seed)
    pairs, _ = read_pairs(cfg.data)
    parts = split_pairs(pairs, cfg.val_fraction, cfg.test_fraction, cfg.seed, cfg.max_pairs)
    zh, en = make_vocabularies(parts["train"], cfg.zh_min_count, cfg.en_min_count)
    data = {k: encode_pairs(zh, en, v) for k, v in parts.items()}
    m = task.build_model(cfg, zh, en)
    net = build_twin(m)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=cfg.lr_decay)

    def loss_of(d, idx, train):
        (src, tgt), (sm, tm) = B.trim_padding((d.src[idx], d.tgt[idx]), (d.src_mask[idx], d.tgt_mask[idx]))
        src, tgt, sm, tm = (torch.from_numpy(np.ascontiguousarray(a)) for a in (src, tgt, sm, tm))
        dec_in = torch.cat([torch.full((len(tgt), 1), m.bos), tgt[:, :-1]], 1)
        enc, c, init = net.encode(src, sm)
        z, _, _ = net.decode(dec_in, enc, c, init, sm)
        return F.cross_entropy(z[tm], tgt[tm])

    tr, va = data["train"], data["val"]
    rng = np.random.default_rng(cfg.seed)
    best, best_state, bad, updates, history = float("inf"), None, 0, 0, []
    t0, c0 = time.perf_counter(), time.process_time()
    for epoch in range(max_epochs):
        net.train()
        for idx in B.plan(len(tr.src), cfg.batch_size, True, rng, tr.src_mask.sum(1), True):
            opt.zero_grad()
            loss = loss_of(tr, idx, True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            opt.step()
            updates += 1
        sched.step()
        net.eval()
        with torch.no_grad():
            n = len(va.src)
            val = sum(float(loss_of(va, np.arange(i, min(i + 256, n)), False)) * va.tgt_mask[i:i + 256].sum()
                      for i in range(0, n, 256)) / va.tgt_mask.sum()
        history.append(val)
        print(f"epoch {epoch + 1}: val loss {val:.4f}  ({time.perf_counter() - t0:.0f} s)", flush=True)
        if val < best:
            best, best_state, bad = val, {k: v.clone() for k, v in net.state_dict().items()}, 0
        else:
            bad += 1
            if bad >= 2:
                break
    train_wall, train_cpu = time.perf_counter() - t0, time.process_time() - c0
    net.load_state_dict(best_state)
    net.eval()
    stepper, test = Stepper(net, m), data["test"]
    out = {}
    for name, width in (("greedy", 1), ("beam", cfg.beam)):
        hyp = [t.english for t in translate(stepper, test.zh, beam=width, length_penalty=cfg.length_penalty)]
        out[name] = bleu_chrf(hyp, test.en)
    doc = {"torch": torch.__version__, "threads": args.threads, "updates": updates, "epochs_run": len(history),
           "val_loss": best, "train_seconds": train_wall, "train_cpu_seconds": train_cpu,
           "test_bleu_greedy": out["greedy"]["bleu"], "test_chrf_greedy": out["greedy"]["chrf"],
           "test_bleu": out["beam"]["bleu"], "test_chrf": out["beam"]["chrf"], "beam": cfg.beam,
           "config": dataclasses.asdict(cfg), "beam_search": beam_search.__module__}
    print(json.dumps({k: v for k, v in doc.items() if k != "config"}, indent=1))
    if args.json:
        args.json.write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
