"""Bach chorales: piano rolls and bar positions, the NLL's units (loss × pitches), the baselines, the
music21 loader and its cache, a short run through ``rnnlab run chorales`` and ``rnnlab compose``
(MIDI files that music21 reads back to the same notes), and the core without music21.

music21 is an optional extra; under $CI a missing music21 fails these tests instead of skipping them.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import rnnlab
from rnnlab.cli import main
from rnnlab.data import chorales as ch
from rnnlab.errors import InputError
from rnnlab.losses import BinaryCrossEntropy, sigmoid
from rnnlab.tasks.chorales import baselines as bl
from rnnlab.tasks.chorales.data import Layout, allowed_shifts, make_data

SUBSET = 20


@pytest.fixture(scope="module")
def music21():
    if importlib.util.find_spec("music21") is None:
        if os.environ.get("CI"):
            pytest.fail('music21 is required in CI (the chorale tests would be skipped): pip install -e ".[test]"')
        pytest.skip("music21 is not installed (pip install \"rnnlab[music]\")")
    return importlib.import_module("music21")


@pytest.fixture(scope="module")
def cache(music21, tmp_path_factory):
    """A private per-user cache holding the first SUBSET chorales (converted once for the module)."""
    root = tmp_path_factory.mktemp("xdg")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(root))
        chorales = ch.load_chorales(SUBSET)
        yield root, chorales


@pytest.fixture
def use_cache(cache, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache[0]))
    return cache[1]


def toy(pickup: float = 1.0) -> ch.Chorale:
    # a pickup quarter, then a bar of 4/4: C4+E4 held 1.5 beats, G4 an eighth, then a C3 under it all
    notes = np.array([[60, 0, 1.5], [64, 0, 1.5], [67, 1.5, 2.0], [48, 0, 5.0]], dtype=np.float64)
    return ch.Chorale("toy", notes, 0, "major", 4.0, "4/4", pickup)


# ----------------------------------------------------------------------------- grid and layout
def test_roll_positions_and_inputs():
    c = toy()
    roll = ch.piano_roll(c, 0.5, 48, 67)
    assert roll.shape == (10, 20)
    assert roll[:, 0].tolist() == [1] * 10 and roll[:3, 12].tolist() == [1, 1, 1] and roll[3, 12] == 0
    assert roll[3, 19] == 1 and roll[:, 19].sum() == 1
    # pickup of one quarter: the downbeat is step 2
    assert ch.bar_positions(c, 0.5, 10).tolist() == [6, 7, 0, 1, 2, 3, 4, 5, 6, 7]
    assert ch.bar_positions(toy(0.0), 0.5, 3).tolist() == [0, 1, 2]
    assert ch.roll_to_notes(roll, 48, 0.5) == [(48, 0.0, 5.0), (60, 0.0, 1.5), (64, 0.0, 1.5), (67, 1.5, 2.0)]
    lay = Layout(48, 67, 0.5, 8)
    x, y, mask = lay.inputs([roll, roll[:4]], [ch.bar_positions(c, 0.5, 10)] * 2)
    assert x.shape == (2, 10, 28) and y.shape == (2, 10, 20) and mask.sum(axis=1).tolist() == [10, 4]
    assert not x[0, 0, :20].any() and np.array_equal(x[0, 1:, :20], roll[:-1])       # previous frame
    assert np.array_equal(y[0], roll) and x[0, 2, 20] == 1 and x[0, 0, 26] == 1       # bar position of frame t
    assert not y[1, 4:].any() and not x[1, 4:].any()
    with pytest.raises(InputError, match="outside the range"):
        ch.piano_roll(c, 0.5, 50, 67)
    assert allowed_shifts(c, Layout(46, 70, 0.5, 8), 5).tolist() == [-2, -1, 0, 1, 2, 3]


def test_split_is_by_chorale_seeded_and_transposes_training_only():
    pieces = [toy().transposed(k) for k in range(10)]
    for i, p in enumerate(pieces):
        p.name = f"c{i}"
    data = make_data(pieces, 0.5, seed=3, val_fraction=0.2, test_fraction=0.2, max_shift=2)
    parts = [set(data.split[k].tolist()) for k in ("train", "val", "test")]
    assert sorted(set().union(*parts)) == list(range(10)) and sum(map(len, parts)) == 10
    assert data.split["test"].tolist() == make_data(pieces, 0.5, 3, 0.2, 0.2, 2).split["test"].tolist()
    assert data.split["test"].tolist() != make_data(pieces, 0.5, 4, 0.2, 0.2, 2).split["test"].tolist()
    assert (data.layout.low, data.layout.high) == (48, 76)
    rng = np.random.default_rng(0)
    epochs = [data.training_epoch(e, rng)[1] for e in range(3)]
    plain = data.array("train")[1]
    assert any(not np.array_equal(e, plain) for e in epochs)                        # transposed
    assert all(np.array_equal(e.sum(axis=(1, 2)), plain.sum(axis=(1, 2))) for e in epochs)   # same notes, shifted
    assert np.array_equal(data.array("test")[1][0], ch.piano_roll(data.part("test")[0], 0.5, 48, 76)[:10])


# ----------------------------------------------------------------------------- units and baselines
def test_nll_per_frame_is_the_loss_times_the_pitches(rng):
    z = rng.normal(size=(3, 7, 5)).astype(np.float64)
    y = (rng.random((3, 7, 5)) < 0.3).astype(np.float64)
    mask = np.ones((3, 7), dtype=bool)
    mask[1, 4:] = mask[2, 2:] = False
    loss = BinaryCrossEntropy().forward(z, y, mask)
    p = sigmoid(z)
    by_hand = np.mean([-(y[b, t] * np.log(p[b, t]) + (1 - y[b, t]) * np.log(1 - p[b, t])).sum()
                       for b in range(3) for t in range(7) if mask[b, t]])
    assert bl.nats_per_frame_from_loss(loss, 5) == pytest.approx(by_hand, rel=1e-12)
    assert bl.frame_nll(p, y, mask) == pytest.approx(by_hand, rel=1e-9)
    assert loss == pytest.approx(by_hand / 5, rel=1e-12)        # the loss alone averages over pitches too


def test_baselines_on_a_toy_part():
    y = np.zeros((1, 4, 2))
    y[0, :, 0] = 1                                   # pitch 0 always on, pitch 1 never
    mask = np.ones((1, 4), dtype=bool)
    freq = bl.pitch_frequencies(y, mask)
    assert freq.tolist() == [5 / 6, 1 / 6]           # add-one smoothing: (4 + 1) / (4 + 2), 1 / 6
    assert bl.frame_nll(np.broadcast_to(freq, y.shape), y, mask) == pytest.approx(-2 * np.log(5 / 6))
    base = bl.score_baselines((y, mask), (y, mask), (y, mask))

    def by_hand(w):
        p0 = (1 - w) * freq                          # frame 0: after silence
        p1 = w * np.array([1.0, 0.0]) + (1 - w) * freq
        return (-np.log(p0[0]) - np.log(1 - p0[1]) + 3 * (-np.log(p1[0]) - np.log(1 - p1[1]))) / 4
    w = base["repeat_previous"]["weight"]
    assert base["repeat_previous"]["test_nats_per_frame"] == pytest.approx(by_hand(w), rel=1e-9)
    assert by_hand(w) <= min(by_hand(v) for v in np.linspace(0, 0.999, 1000)) + 1e-6    # the best weight
    assert 0.2 < w < 0.3                 # frame 0 (after silence) keeps it well below 1
    assert base["independent"]["test_nats_per_frame"] > base["repeat_previous"]["test_nats_per_frame"]


def test_draw_frame_keeps_at_most_the_most_probable_voices():
    from rnnlab.tasks.chorales.model import draw_frame
    p = np.array([[0.99, 0.98, 0.97, 0.96, 0.95, 0.0], [0.9, 0.0, 0.0, 0.0, 0.0, 0.0]])
    free = draw_frame(p, np.random.default_rng(1))
    capped = draw_frame(p, np.random.default_rng(1), max_voices=4)
    assert free[0].tolist() == [1, 1, 1, 1, 1, 0] and capped[0].tolist() == [1, 1, 1, 1, 0, 0]
    assert np.array_equal(free[1], capped[1])                       # under the cap: untouched
    many = draw_frame(np.full((2000, 6), 0.5), np.random.default_rng(0))
    assert abs(many.mean() - 0.5) < 0.02 and many.dtype == np.uint8     # independent Bernoulli draws


def test_harmonisation_pieces():
    from rnnlab.tasks.chorales import harmonize as hz
    truth = np.zeros((1, 3, 6), dtype=np.uint8)
    truth[0, 0, [0, 2, 5]] = 1                       # soprano 5, lower 0 and 2
    truth[0, 1, [1, 3]] = 1                          # soprano 3, lower 1
    assert hz.soprano(truth).tolist() == [[5, 3, -1]]
    p = np.array([[0.1, 0.9, 0.8, 0.2, 0.95, 0.99], [0.9, 0.1, 0.8, 0.2, 0.95, 0.99]])
    assert hz.constrained(p, np.array([3, -1]), 3).tolist() == [[0, 1, 1, 1, 0, 0], [0] * 6]
    mask = np.array([[True, True, False]])
    pred = np.zeros_like(truth)
    pred[0, 0, [0, 1, 5]] = 1                        # lower: 0 right, 1 wrong, 2 missed
    pred[0, 1, [1, 3]] = 1                           # lower: 1 right
    assert hz.lower_voice_accuracy(pred, truth, mask) == pytest.approx(2 / 4)
    train = np.zeros((1, 4, 6), dtype=np.uint8)
    train[0, :3, [5]] = 1
    train[0, :2, [0]] = 1                            # under soprano 5: {0} twice, {} once
    table = hz.table_baseline(train, np.ones((1, 4), dtype=bool), truth)
    assert table[0, 0].tolist() == [1, 0, 0, 0, 0, 1] and table[0, 2].sum() == 0
    assert table[0, 1, 3] == 1 and table[0, 1, 4:].sum() == 0        # unseen soprano: the fallback below it


# ----------------------------------------------------------------------------- the loader
def test_loader_reads_four_part_chorales_and_caches_them(use_cache, monkeypatch, music21):
    chorales = use_cache
    assert len(chorales) == SUBSET and chorales[0].name == "bwv10.7"
    assert all(c.notes.shape[1] == 3 and (c.notes[:, 2] > c.notes[:, 1]).all() for c in chorales)
    assert {c.meter for c in chorales} <= {"4/4", "3/4", "3/2"} and {c.mode for c in chorales} <= {"major", "minor"}
    first = chorales[0]                              # BWV 10.7: G minor, 4/4, no pickup, 22 bars
    assert (first.tonic, first.mode, first.meter, first.pickup, first.length) == (7, "minor", "4/4", 0.0, 88.0)
    assert 36 <= first.notes[:, 0].min() and first.notes[:, 0].max() <= 81
    assert (ch.cache_dir() / "chorales" / f"notes-v{ch.CONVERTER_VERSION}-{SUBSET}.npz").is_file()

    def no_parsing(*a, **k):
        raise AssertionError("the cache should have answered")
    monkeypatch.setattr(music21.corpus, "parse", no_parsing)
    again = ch.load_chorales(5)                      # a slice of the cached 20
    assert [c.name for c in again] == [c.name for c in chorales[:5]]
    assert all(np.array_equal(a.notes, b.notes) for a, b in zip(again, chorales))


def test_without_music21_the_core_imports_and_the_loader_says_what_to_install(tmp_path):
    code = ("import sys\n"
            "class Block:\n"
            "    def find_spec(self, name, *a):\n"
            "        if name == 'music21' or name.startswith('music21.'): raise ModuleNotFoundError(name=name)\n"
            "sys.meta_path.insert(0, Block())\n"
            "import rnnlab, rnnlab.data.chorales as ch, rnnlab.tasks.chorales, rnnlab.tasks.chorales.compose\n"
            "from rnnlab.cli import build_parser\n"
            "build_parser()\n"
            "try:\n"
            "    ch.load_chorales(3)\n"
            "except rnnlab.InputError as e:\n"
            "    print('ERR', e)\n")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ERR") and 'pip install "rnnlab[music]"' in out.stdout


# ----------------------------------------------------------------------------- run and compose
def test_short_run_then_compose_round_trips_through_midi(use_cache, tmp_path, capsys):
    from rnnlab.tasks.chorales.composer import compose_piece
    from rnnlab.tasks.chorales.score import read_notes
    out = tmp_path / "run"
    args = ["run", "chorales", "--max-chorales", str(SUBSET), "--quiet", "--epochs", "8", "--hidden", "32",
            "--batch-size", "4", "--lr", "0.01", "--transpose", "2", "--example-bars", "2", "--out", str(out)]
    assert main(args) == 0
    assert {"metrics.json", "history.csv", "loss.png", "prediction.png", "model", "composed"} <= \
        {p.name for p in out.iterdir()}
    doc = json.loads((out / "metrics.json").read_text())
    m, b = doc["metrics"], doc["baselines"]
    P = m["pitches"]
    assert P == m["pitch_range"][1] - m["pitch_range"][0] + 1 and m["split"] == {"train": 16, "val": 2, "test": 2}
    assert m["test_nats_per_frame"] == pytest.approx(m["test_loss_mean_over_pitches"] * P, rel=1e-9)
    assert m["test_nats_per_frame"] == pytest.approx(m["test_nats_per_frame_direct"], rel=1e-5)
    assert m["test_nats_per_frame"] < b["independent"]["test_nats_per_frame"]       # learnt something
    assert 0 < b["repeat_previous"]["weight"] < 1
    assert {e["model"] for e in doc["literature"]["entries"]} >= {"GRU", "LSTM", "tanh RNN"}
    h = m["harmonisation"]
    assert all(0 <= h[k] <= 1 for k in ("model_lower_voice_accuracy", "teacher_forced_lower_voice_accuracy",
                                        "table_baseline_lower_voice_accuracy"))

    # the saved model comes back with its pitch range and reproduces the test loss
    model = rnnlab.load(out / "model")
    assert [model.layout.low, model.layout.high] == m["pitch_range"] and model.layout.grid == 0.5
    from rnnlab.tasks.chorales.data import make_data as remake, unique_chorales
    data = remake(unique_chorales(use_cache, 0.5)[0], 0.5, 0, 0.1, 0.1, 2)
    x, y, mask = data.array("test")
    assert model.evaluate(x, y, mask=mask)["loss"] * P == pytest.approx(m["test_nats_per_frame"], rel=1e-5)

    capsys.readouterr()
    seen = set()
    for seed in range(5):
        assert main(["compose", str(out), "--bars", "3", "--seed", str(seed), "--out", str(tmp_path / "c")]) == 0
        midi = tmp_path / "c" / f"chorale-seed{seed}.mid"
        roll = compose_piece(model, 3, seed=seed)
        assert roll.shape == (24, P) and roll[0].nonzero()[0].tolist() == [60 - m["pitch_range"][0] + k
                                                                            for k in (0, 4, 7, 12)]
        expected = sorted(ch.roll_to_notes(roll, model.layout.low, 0.5))
        assert read_notes(midi) == expected                                 # music21 reads back the same notes
        assert read_notes(midi.with_suffix(".musicxml")) == expected
        assert midi.with_suffix(".png").stat().st_size > 1000
        seen.add(midi.read_bytes())
    assert len(seen) == 5                                                   # five seeds, five pieces
    printed = capsys.readouterr().out
    assert "3 bars (4/4) from 'C4 E4 G4 C5'" in printed and "chorale-seed4.mid" in printed
    again = tmp_path / "again"
    assert main(["compose", str(out / "model"), "--bars", "3", "--seed", "4", "--out", str(again)]) == 0
    assert (again / "chorale-seed4.mid").read_bytes() == (tmp_path / "c" / "chorale-seed4.mid").read_bytes()
    # a prime file: a composed 3-bar piece, continued for two more bars
    assert main(["compose", str(out), "--bars", "5", "--prime", str(tmp_path / "c" / "chorale-seed1.musicxml"),
                 "--out", str(tmp_path / "p")]) == 0


@pytest.mark.parametrize("extra, message", [
    (["--prime", "C4 X9"], "is not a pitch"),
    (["--prime", "C1 E4"], "outside the model's range"),
    (["--bars", "0"], "--bars"),
    (["--temperature", "0"], "temperature"),
    (["--meter", "5/7"], "--meter"),
])
def test_compose_errors_are_one_clear_line(use_cache, tmp_path, capsys, extra, message):
    from rnnlab.tasks.chorales.data import make_data as remake
    from rnnlab.tasks.chorales.model import build_model
    data = remake(use_cache, 0.5, 0, 0.1, 0.1, 0)
    build_model(data.layout, "rnn", 4, 1, 0.0, 0).save(tmp_path / "m")
    assert main(["compose", str(tmp_path / "m"), "--out", str(tmp_path / "o"), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
