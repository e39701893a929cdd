"""Lecture case 2: binary subtraction — four (here eight) steps, a logistic output at every step.

``a - b`` with ``a >= b`` fed one bit per step, least-significant bit first, so the borrow
travels forward in time like the carry of pencil-and-paper arithmetic. Structure: many-to-many
(equal lengths), logistic + binary cross-entropy at every step, no bias (the lecture's table).

The reference implementation tested on its training set. Here the network trains on a subset
of the 8-bit pairs and is tested on pairs it never saw; then the **same weights** run on 16-
and 32-bit numbers: one weight set "folded" over any number of steps, as the lecture puts it.
The naive baseline is bitwise XOR (subtraction that forgets every borrow).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import metrics
from ..callbacks import EarlyStopping
from ..data.synthetic import all_subtraction_pairs, binary_subtraction, from_bits
from ..layers.dense import Dense
from ..registry import make_recurrent
from ..sequential import Sequential
from .base import RunContext
from .config import CELL_CHOICES, TaskConfig, option

NAME = "subtraction"
SUMMARY = "binary subtraction, per-step logistic output, no bias; generalises to 16/32 bits (lecture case 2)"


@dataclass
class Config(TaskConfig):
    epochs: int = option(40, "training epochs (at most: early stopping on val_loss, see --patience)")
    batch_size: int = option(32, "mini-batch size")
    lr: float = option(0.01, "learning rate (Adam)")
    hidden: int = option(16, "hidden units of the recurrent layer")
    cell: str = option("rnn", "recurrent cell (no biases anywhere, the lecture's table)", choices=CELL_CHOICES)
    bits: int = option(8, "bits of the training numbers")
    train_pairs: int = option(3000, "training pairs drawn from all pairs (at most half of them)")
    patience: int = option(8, "early stopping: epochs without a better val_loss before training stops "
                              "(the best weights are restored)")


def make_data(config: Config) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], np.random.Generator]:
    """Disjoint train / validation / test pairs of ``config.bits``-bit numbers, from ``config.seed``;
    and the generator, positioned after the split (it draws the longer numbers next)."""
    rng = np.random.default_rng(config.seed)
    pairs = all_subtraction_pairs(config.bits)
    order = rng.permutation(len(pairs))
    n_train = min(config.train_pairs, len(pairs) // 2)
    n_val = min(1000, (len(pairs) - n_train) // 4)
    split = {"train": pairs[order[:n_train]], "val": pairs[order[n_train:n_train + n_val]],
             "test": pairs[order[n_train + n_val:]]}
    return {name: binary_subtraction(p, config.bits) for name, p in split.items()}, rng


def longer_numbers(rng: np.random.Generator) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """5000 random 16-bit and 32-bit subtractions (drawn in that order from ``rng``)."""
    return {bits: binary_subtraction(bits=bits, n=5000, rng=rng) for bits in (16, 32)}


def predicted_bits(model, x) -> np.ndarray:
    """Bits the network outputs: P(bit = 1) > 0.5.

    Without biases the network outputs exactly 0.5 when the input bits and the state are all
    zero (leading zeros at the least-significant end): such a tie reads as 0, the same rule as
    :func:`rnnlab.metrics.accuracy`.
    """
    return (model.predict(x)[..., 0] > 0.5).astype(np.int64)


def exact(model, x, y) -> float:
    """Fraction of numbers with every bit right (:func:`rnnlab.metrics.accuracy`'s per-step rule)."""
    return metrics.accuracy(model.predict(x), y)


def xor_baseline(x: np.ndarray, y: np.ndarray) -> float:
    """Bitwise XOR: right only when no borrow ever happens."""
    guess = np.logical_xor(x[..., 0] >= 0.5, x[..., 1] >= 0.5)
    return metrics.accuracy(guess[..., None].astype(np.float32), y)


def run(config: Config, ctx: RunContext) -> dict:
    data, rng = make_data(config)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = data["train"], data["val"], data["test"]

    model = Sequential([make_recurrent(config.cell, config.hidden, return_sequences=True, use_bias=False),
                        Dense(1, use_bias=False)], input_size=2, seed=config.seed)
    model.compile(loss="binary_crossentropy", optimizer="adam", lr=config.lr, metrics=["accuracy"])
    stop = EarlyStopping(monitor="val_loss", patience=config.patience, restore_best_weights=True)
    history = model.fit(x_train, y_train, epochs=config.epochs, batch_size=config.batch_size,
                        validation_data=(x_val, y_val), callbacks=[stop], **ctx.fit_options())

    result = {"train_pairs": int(len(x_train)), "test_pairs_unseen": int(len(x_test)),
              "test_accuracy_unseen": exact(model, x_test, y_test)}
    baselines = {"xor_no_borrow": {"test_accuracy_unseen": xor_baseline(x_test, y_test)},
                 "reference_implementation": {"accuracy_on_training_set": 1.0}}
    # the same weights, folded over longer numbers
    for bits, (xl, yl) in longer_numbers(rng).items():
        result[f"accuracy_{bits}bit"] = exact(model, xl, yl)
        baselines["xor_no_borrow"][f"accuracy_{bits}bit"] = xor_baseline(xl, yl)

    # a worked example
    a, b = 13, 6
    xw, yw = binary_subtraction(np.array([[a, b]]), config.bits)
    pw = model.predict(xw)[0, :, 0]
    bw = predicted_bits(model, xw)[0]
    msb = lambda bits: "".join(str(int(v)) for v in bits[::-1])
    got = int(from_bits(bw))
    example = (f"{a:>4d} = {msb(xw[0, :, 0])}\n- {b:>2d} = {msb(xw[0, :, 1])}\n"
               f"  -------------\n  {got:>2d} = {msb(bw)}   (network; true {a - b} = {msb(yw[0, :, 0])})\n"
               f"  P(bit=1), most significant first: {' '.join(f'{v:.2f}' for v in pw[::-1])}\n")
    xl, yl = binary_subtraction(np.array([[3_000_000_000, 1_234_567_891]]), 32)
    big = int(from_bits(predicted_bits(model, xl)[0]))
    example += f"\n32-bit, same weights: 3000000000 - 1234567891 = {big}  (true {3_000_000_000 - 1_234_567_891})\n"
    folder = ctx.folder
    folder.write_text("example.txt", example)
    _plot_example(folder.file("example.png"), xw[0], pw, yw[0, :, 0], a, b)
    folder.write_history(history, title="subtraction")
    model.save(folder.file("model"))
    doc = folder.write_metrics(result, baselines, {"best_epoch": stop.best_epoch})
    ctx.say(example)
    ctx.result(f"subtraction ({config.cell}): unseen 8-bit pairs {result['test_accuracy_unseen']:.4f}, "
               f"16-bit {result['accuracy_16bit']:.4f}, 32-bit {result['accuracy_32bit']:.4f} "
               f"(XOR baseline {baselines['xor_no_borrow']['test_accuracy_unseen']:.3f})  -> {folder.path}")
    return doc


def _plot_example(path, x, p, y, a, b) -> None:
    from ..viz import pyplot, save_figure
    plt = pyplot()
    bits = len(p)
    fig, ax = plt.subplots(figsize=(7, 2.8))
    grid = np.stack([x[::-1, 0], x[::-1, 1], p[::-1], y[::-1]])
    ax.imshow(grid, cmap="Greys", vmin=0, vmax=1, aspect="auto")
    for i in range(4):
        for j in range(bits):
            v = grid[i, j]
            ax.text(j, i, f"{v:.2f}" if i == 2 else f"{int(v)}", ha="center", va="center",
                    color="white" if v > 0.5 else "black", fontsize=9)
    ax.set_yticks(range(4), [f"a = {a}", f"b = {b}", "P(bit = 1)", f"a - b = {a - b}"])
    ax.set_xticks(range(bits), [f"bit {bits - 1 - j}" for j in range(bits)], fontsize=7)
    ax.set_title("binary subtraction, most significant bit left (the network reads right to left)")
    save_figure(fig, path)
