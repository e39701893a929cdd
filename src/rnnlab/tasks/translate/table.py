"""The comparison table of the translation task: structures × contexts × attention, greedy vs beam.

    python -m rnnlab.tasks.translate.table --out runs/translate-table [--epochs 4 --hidden 64 ...]

Runs ``rnnlab run translate`` once per row (each row changes one choice from the first), all
with the same data, split, seed and budget, in ``OUT/<row>/``; a row whose folder already holds
a complete run is read, not run again, and an interrupted one continues from its checkpoint. Writes ``OUT/table.md`` (and ``table.json``) after every
row: test BLEU / chrF of greedy and beam decoding, and the training time (wall and CPU).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Sequence

from ..launch import run_task
from . import Config

#: (row name, structure, context, attention)
ROWS = (
    ("state-last-none", "state", "last", "none"),
    ("context-last-none", "context", "last", "none"),
    ("state-transform-none", "state", "transform", "none"),
    ("context-transform-none", "context", "transform", "none"),
    ("state-pool-none", "state", "pool", "none"),
    ("context-pool-none", "context", "pool", "none"),
    ("state-transform-additive", "state", "transform", "additive"),
    ("state-transform-dot", "state", "transform", "dot"),
    ("state-transform-general", "state", "transform", "general"),
    ("context-transform-additive", "context", "transform", "additive"),
)


def table_markdown(docs: Sequence[tuple[str, dict]]) -> str:
    """One line per row: the model's choices, BLEU/chrF greedy and beam, training time."""
    lines = ["| structure | context | attention | BLEU greedy | BLEU beam | chrF greedy | chrF beam | "
             "epochs | train wall (min) | train CPU (min) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for _, doc in docs:
        h, m = doc["hyperparameters"], doc["metrics"]
        lines.append(f"| {h['structure']} | {h['context']} | {h['attention']} | {m['test_bleu_greedy']:.2f} | "
                     f"{m['test_bleu']:.2f} | {m['test_chrf_greedy']:.1f} | {m['test_chrf']:.1f} | "
                     f"{m['epochs_run']} | {m['train_seconds'] / 60:.1f} | {m['train_cpu_seconds'] / 60:.1f} |")
    if docs:
        r = docs[0][1]["baselines"]["retrieval"]
        lines.append(f"| retrieval baseline | | | | {r['bleu']:.2f} | | {r['chrf']:.1f} | | | |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--rows", default=",".join(r[0] for r in ROWS), help="comma-separated row names")
    for name in ("epochs", "hidden", "embedding", "beam", "max_pairs", "seed"):
        p.add_argument(f"--{name.replace('_', '-')}", type=int, default=None)
    p.add_argument("--cell", default=None)
    args = p.parse_args(argv)
    base = Config(**{k: v for k, v in vars(args).items() if k not in ("out", "rows") and v is not None})
    wanted = args.rows.split(",")
    docs = []
    for name, structure, context, attention in ROWS:
        if name not in wanted:
            continue
        folder = args.out / name
        if (folder / "metrics.json").is_file() and not (folder / "INCOMPLETE").exists():
            doc = json.loads((folder / "metrics.json").read_text())
        else:                               # an interrupted row continues from its checkpoint
            cfg = dataclasses.replace(base, structure=structure, context=context, attention=attention)
            resume = (folder / "INCOMPLETE").exists() and (folder / "checkpoint").is_dir()
            doc = run_task("translate", cfg, out=folder, quiet=True, resume=resume)
        docs.append((name, doc))
        (args.out / "table.md").write_text(table_markdown(docs))
        (args.out / "table.json").write_text(json.dumps({n: d["metrics"] | {"hyperparameters": d["hyperparameters"]}
                                                         for n, d in docs}, indent=1) + "\n")
    print(table_markdown(docs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
