"""Bach chorales (one-to-many at generation): a recurrent network predicts the next piano-roll frame.

The four-part chorales of music21's corpus become piano rolls on a grid of eighth notes (by
default): one multi-hot frame per step over the pitch range of the data. At every step the
network reads the previous frame and the bar position and outputs one logistic unit per pitch
(binary cross-entropy per pitch, masked over padding). Chorales are split by piece (seeded)
into training, validation and test; the training chorales are transposed at random each epoch
(within ±``transpose`` semitones and the pitch range).

Reported: test NLL in nats per frame summed over pitches (rnnlab's loss averages over pitches,
so NLL = loss × P), beside two baselines on the same frames (independent per-pitch frequencies;
"repeat the previous frame" mixed with them, weight chosen on validation) and the literature's
JSB Chorales figures (another split and quantisation: not directly comparable).
``rnnlab compose RUN_OR_MODEL --bars 8`` writes a new piece from one opening chord.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ...callbacks import EarlyStopping
from ...data.chorales import GRIDS, load_chorales
from ..base import RunContext
from ..config import CELL_CHOICES, TaskConfig, option
from .baselines import LITERATURE, frame_nll, nats_per_frame_from_loss, pitch_frequencies, score_baselines
from .data import make_data, unique_chorales
from .model import build_model, frame_probabilities
from . import harmonize
from .composer import write_example
from .pictures import key_text, plot_prediction

NAME = "chorales"
SUMMARY = "Bach chorales as piano rolls: next-frame prediction (one logistic unit per pitch), then composition"


@dataclass
class Config(TaskConfig):
    cell: str = option("gru", "recurrent cell", choices=CELL_CHOICES)
    layers: int = option(1, "stacked recurrent layers")
    hidden: int = option(256, "hidden units per layer")
    dropout: float = option(0.0, "dropout after each recurrent layer")
    epochs: int = option(80, "passes over the training chorales (early stopping on validation loss)")
    patience: int = option(6, "early stopping: epochs without a better validation loss")
    batch_size: int = option(16, "chorales per batch (bucketed by length)")
    lr: float = option(3e-3, "Adam learning rate")
    lr_decay: float = option(0.97, "learning rate × this after every epoch")
    clipnorm: float = option(5.0, "global gradient-norm clip")
    grid: str = option("eighth", "time step of the piano roll", choices=tuple(GRIDS))
    max_chorales: int | None = option(None, "use only the first N four-part chorales (file-name order)", none="all")
    transpose: int = option(5, "training chorales transposed at random each epoch by up to ± this many semitones")
    val_fraction: float = option(0.1, "chorales held out for validation")
    test_fraction: float = option(0.1, "chorales held out for the test")
    example_bars: int = option(8, "bars of the example piece composed into the run folder (0: none)")
    temperature: float = option(1.0, "sampling temperature of that example")


def run(config: Config, ctx: RunContext) -> dict:
    t0, cpu0 = time.perf_counter(), time.process_time()
    def progress(done: int, total: int) -> None:
        if done % 50 == 0:
            ctx.say(f"converting chorales with music21 (once; cached afterwards): {done}/{total} files")
    chorales = load_chorales(config.max_chorales, progress=progress)
    chorales, repeats = unique_chorales(chorales, GRIDS[config.grid])
    data = make_data(chorales, GRIDS[config.grid], config.seed, config.val_fraction, config.test_fraction,
                     config.transpose)
    lay = data.layout
    sizes = {k: len(v) for k, v in data.split.items()}
    ctx.say(f"{len(chorales)} four-part chorales ({len(repeats)} exact repeats dropped; "
            f"{time.perf_counter() - t0:.1f} s to load): train/val/test {sizes['train']}/{sizes['val']}/{sizes['test']}; "
            f"pitches {lay.low}-{lay.high} ({lay.pitches}), {config.grid} grid, {lay.positions} bar positions")
    train_plain, val, test = data.array("train"), data.array("val"), data.array("test")
    base = score_baselines(train_plain[1:], val[1:], test[1:])
    ctx.say(f"baselines (test nats/frame): independent {base['independent']['test_nats_per_frame']:.3f}, "
            f"repeat previous {base['repeat_previous']['test_nats_per_frame']:.3f} "
            f"(w = {base['repeat_previous']['weight']:.3f})")

    model = build_model(lay, config.cell, config.hidden, config.layers, config.dropout, config.seed,
                        frequencies=pitch_frequencies(*train_plain[1:]))
    model.compile(loss="binary_crossentropy", optimizer="adam", lr=config.lr, clipnorm=config.clipnorm,
                  schedule={"name": "exponential", "gamma": config.lr_decay})
    stop = EarlyStopping(monitor="val_loss", patience=config.patience, restore_best_weights=True)
    history = model.fit(data.training_epoch, epochs=config.epochs, batch_size=config.batch_size,
                        validation_data=val, callbacks=[stop], bucket=True, data_seed=[config.seed, 11],
                        **ctx.fit_options())

    P = lay.pitches
    test_loss = model.evaluate(test[0], test[1], mask=test[2], batch_size=64)["loss"]
    val_loss = model.evaluate(val[0], val[1], mask=val[2], batch_size=64)["loss"]
    probs = frame_probabilities(model, test[0], test[2])
    test_nll = nats_per_frame_from_loss(test_loss, P)
    on = probs >= 0.5
    truth = test[1].astype(bool)
    tp = (on & truth)[test[2]].sum()
    fp_fn = (on ^ truth)[test[2]].sum()
    result = {
        "test_nats_per_frame": test_nll, "val_nats_per_frame": nats_per_frame_from_loss(val_loss, P),
        "test_nats_per_frame_direct": frame_nll(probs, test[1], test[2]),
        "test_loss_mean_over_pitches": float(test_loss),
        "test_frame_accuracy": float(tp / max(1, tp + fp_fn)),
        "test_frames_scored": int(test[2].sum()), "test_chorales": sizes["test"],
        "pitches": P, "pitch_range": [lay.low, lay.high], "grid_quarter_notes": lay.grid,
        "chorales": len(chorales), "repeats_dropped": repeats, "split": sizes,
        "updates": int(model.optimizer.iterations),
        "train_seconds": float(sum(history.history["time"])), "parameters": model.count_params(),
        "cpu_seconds_to_evaluation": float(time.process_time() - cpu0),
    }
    result["harmonisation"] = harmonize.score(model, train_plain[1:], test)
    folder = ctx.folder
    first = data.part("test")[0]
    t_first = int(test[2][0].sum())
    plot_prediction(folder.file("prediction.png"), test[1][0, :t_first], probs[0, :t_first], lay.low, lay.grid,
                    f"test chorale {first.name} ({key_text(first.tonic, first.mode)})",
                    bar_steps=int(round(first.bar / lay.grid)), pickup_steps=int(round(first.pickup / lay.grid)))
    folder.write_history(history, title=f"chorales ({config.layers}×{config.cell} {config.hidden})")
    model.save(folder.file("model"))
    example = write_example(model, folder.file("composed"), config.example_bars, config.temperature, config.seed) \
        if config.example_bars > 0 else None
    doc = folder.write_metrics(result, base, {
        "best_epoch": stop.best_epoch, "units": "nats per frame, summed over pitches (binary cross-entropy x pitches)",
        "literature": LITERATURE, "example": example})
    ctx.result(f"chorales ({config.layers}×{config.cell} {config.hidden}): test {test_nll:.3f} nats/frame; baselines "
               f"repeat-previous {base['repeat_previous']['test_nats_per_frame']:.3f}, independent "
               f"{base['independent']['test_nats_per_frame']:.3f}  -> {folder.path}")
    return doc
