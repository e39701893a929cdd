"""Fuzzing of every file reader (``tests/fuzzing.py``): a bounded, seeded campaign, the harness's
own oracle, and one regression test per reader bug the campaign found.

The campaign: ≥ 2,000 cases over every target, 0 non-rnnlab exceptions, 0 hangs (each case under
an alarm), 0 allocations beyond what the file can back; ``python tests/fuzzing.py --long`` runs
100,000 cases locally.
"""
from __future__ import annotations

import hashlib
import io
import json
import random
import struct
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import fuzzing
import rnnlab
from rnnlab.data import chorales
from rnnlab.data.pm25 import load_pm25
from rnnlab.data.text import Vocabulary, read_text_file
from rnnlab.data.ucr import load_ts
from rnnlab.errors import CheckpointError, InputError, ModelFileError
from rnnlab.tasks.sentiment.data import read_snippets
from rnnlab.tasks.translate.data import read_pairs
from rnnlab.training import checkpoint as ckpt

CI_CASES = 2400


def test_bounded_campaign_finds_no_bug():
    targets = [t for t in fuzzing.TARGET_NAMES if t not in fuzzing.KNOWN_BROKEN]
    report = fuzzing.campaign(CI_CASES, seed=2026, targets=targets, timeout=20.0)
    bugs = [f"[{t}] {kind}: {detail} ({how})" for t, bs in report.bugs.items() for kind, detail, how, _ in bs]
    assert report.n_bugs == 0, report.table() + "\n" + "\n".join(bugs[:20])
    assert report.cases == CI_CASES
    assert set(report.counts) == set(targets)
    for target, counts in report.counts.items():      # every reader was really made to refuse files
        refused = sum(n for kind, n in counts.items() if kind.startswith("error:"))
        assert refused >= sum(counts.values()) // 3, (target, counts)


def test_chorale_model_folders_campaign():
    report = fuzzing.campaign(600, seed=2026, targets=["chorale_model"], timeout=20.0, check_alloc=False)
    assert report.n_bugs == 0, report.table()


def test_campaign_is_reproducible():
    a = fuzzing.campaign(60, seed=7, targets=["ucr", "vocabulary"], check_alloc=False)
    b = fuzzing.campaign(60, seed=7, targets=["ucr", "vocabulary"], check_alloc=False)
    assert a.counts == b.counts and sum(a.counts["ucr"].values()) == 30


# ------------------------------------------------------------------------- the oracle can fail
def fake_target(load):
    return fuzzing.Target("fake", [{"f.txt": b"x"}], "f.txt", load, fuzzing.text_choose)


@pytest.mark.parametrize("load, kind", [
    (lambda p: {}["missing"], "BUG:KeyError"),
    (lambda p: (_ for _ in ()).throw(InputError("no file named here")), "BUG:unnamed"),
    (lambda p: time.sleep(5), "BUG:hang"),
    (lambda p: np.empty(200 * 2 ** 20 // 8), "BUG:alloc"),
    (lambda p: (_ for _ in ()).throw(InputError(f"{p}: line 1: bad")), "error:InputError"),
    (lambda p: None, "ok"),
])
def test_oracle_classifies_outcomes(tmp_path, load, kind):
    assert fuzzing.run_case(fake_target(load), {"f.txt": b"x"}, tmp_path / "c", timeout=1.0).kind == kind


def test_mutators_are_seeded_and_change_the_bytes():
    data = fuzzing.UCR_SEEDS[0]
    for mut in {*fuzzing.TEXT_MUTATORS, *fuzzing.JSON_MUTATORS, *fuzzing.BINARY_MUTATORS, *fuzzing.NPZ_MUTATORS}:
        outs = [mut(data, random.Random(s)) for s in range(8)]
        assert outs == [mut(data, random.Random(s)) for s in range(8)], mut.__name__
        assert any(o != data for o in outs), mut.__name__


# ------------------------------------------------------------------------- regressions: models
@pytest.fixture(scope="module")
def model_seed() -> dict[str, bytes]:
    return fuzzing.model_seeds()[0]


def write(folder: Path, files: dict[str, bytes]) -> Path:
    for name, blob in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(blob)
    return folder


def peak_of(fn) -> tuple[BaseException | None, float]:
    tracemalloc.start()
    try:
        fn()
        exc = None
    except BaseException as e:  # noqa: BLE001
        exc = e
    finally:
        peak = tracemalloc.get_traced_memory()[1] / 2 ** 20
        tracemalloc.stop()
    return exc, peak


def with_meta(files, edit):
    meta = json.loads(files["model.json"])
    edit(meta)
    return {**files, "model.json": json.dumps(meta).encode()}


@pytest.mark.parametrize("value, match", [
    (10 ** 12, "more than the weights file can hold"), (10 ** 5, "more than the weights file can hold"),
    ("4", "expected an integer size"), (4.5, "expected an integer size"), (True, "expected an integer size")])
def test_claimed_layer_size_is_checked_before_building(tmp_path, model_seed, value, match):
    def edit(m):
        m["model"]["layers"][0]["config"]["hidden_size"] = value
    folder = write(tmp_path / "m", with_meta(model_seed, edit))
    exc, peak = peak_of(lambda: rnnlab.load(folder))
    assert isinstance(exc, ModelFileError) and match in str(exc) and "model.json" in str(exc)
    assert peak < 32, f"{peak:.0f} MiB allocated for a claim"


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"format": ' + "9" * 5000 + "}"])
def test_deeply_nested_or_huge_number_json_is_a_model_file_error(tmp_path, model_seed, text):
    folder = write(tmp_path / "m", {**model_seed, "model.json": text.encode()})
    with pytest.raises(ModelFileError, match="model.json"):
        rnnlab.load(folder)
    (tmp_path / "v.json").write_text(text)
    with pytest.raises(ModelFileError, match="v.json"):
        Vocabulary.load(tmp_path / "v.json")


def test_safetensors_header_claiming_a_huge_tensor_is_refused_without_allocating(tmp_path, model_seed):
    blob = model_seed["weights.safetensors"]
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + n])
    name = next(k for k in header if k != "__metadata__")
    header[name]["shape"] = [10 ** 6, 10 ** 6]
    raw = json.dumps(header).encode()
    bad = struct.pack("<Q", len(raw)) + raw + blob[8 + n:]
    files = with_meta({**model_seed, "weights.safetensors": bad},
                      lambda m: m["weights"].update(sha256=hashlib.sha256(bad).hexdigest()))
    folder = write(tmp_path / "m", files)
    exc, peak = peak_of(lambda: rnnlab.load(folder))
    assert isinstance(exc, ModelFileError) and "weights.safetensors" in str(exc)
    assert peak < 32


# ------------------------------------------------------------------------- regressions: checkpoints
@pytest.fixture(scope="module")
def ckpt_blob() -> bytes:
    return fuzzing.checkpoint_seeds()[0][ckpt.FILE_NAME]


def rewrite_checkpoint(blob: bytes, edit_doc=None, edit_tensors=None) -> bytes:
    from safetensors.numpy import load as st_load, save as st_save
    header, _ = fuzzing.st_split(blob)
    doc = json.loads(header["__metadata__"]["rnnlab"])
    tensors = st_load(blob)
    if edit_tensors:
        edit_tensors(tensors)
    if edit_doc:
        edit_doc(doc)
    doc["sha256"] = ckpt.tensors_digest(tensors)
    return st_save(tensors, metadata={"rnnlab": json.dumps(doc)})


@pytest.mark.parametrize("edit_doc, edit_tensors, match", [
    (lambda d: d["rng"]["epoch_start"]["shuffle"].update(bit_generator="MT19937"), None, "not a valid MT19937 state"),
    (lambda d: d["rng"]["epoch_start"]["data"]["state"].update(state=float("nan")), None, "not a valid PCG64"),
    (lambda d: d["rng"].update(epoch_start=[]), None, "rng.epoch_start"),
    (lambda d: d["position"].update(epoch="1"), None, "position.epoch"),
    (lambda d: d.update(history="x"), None, "history"),
    (None, lambda t: t.pop("optimizer/layers.1.bias/m"), "optimizer state is incomplete"),
    (None, lambda t: t["model/layers.1.bias"].fill(np.nan), "non-finite"),
])
def test_checkpoint_state_is_validated_when_read(tmp_path, ckpt_blob, edit_doc, edit_tensors, match):
    path = tmp_path / ckpt.FILE_NAME
    path.write_bytes(rewrite_checkpoint(ckpt_blob, edit_doc, edit_tensors))
    with pytest.raises(CheckpointError, match=match) as info:
        ckpt.read(path)
    assert str(path) in str(info.value)
    with pytest.raises(CheckpointError):           # and a resume says the same, instead of a NumPy error
        fuzzing.resume_fit(tmp_path)


def test_unchanged_checkpoint_still_resumes(tmp_path, ckpt_blob):
    (tmp_path / ckpt.FILE_NAME).write_bytes(rewrite_checkpoint(ckpt_blob))
    assert len(fuzzing.resume_fit(tmp_path).epochs) == 2


def test_checkpoint_header_nested_too_deeply(tmp_path):
    raw = json.dumps({"__metadata__": {"rnnlab": "[" * 100_000 + "]" * 100_000}}).encode()
    (tmp_path / "c.safetensors").write_bytes(struct.pack("<Q", len(raw)) + raw)
    with pytest.raises(CheckpointError, match="c.safetensors"):
        ckpt.read(tmp_path / "c.safetensors")


# ------------------------------------------------------------------------- regressions: text formats
def test_pm25_bad_bytes_and_huge_integers_name_the_line(isolated_csv):
    lines = fuzzing.pm25_seed().split(b"\n")
    lines[4] = lines[4].replace(b",-21,", b",-2\xe9,")
    isolated_csv.write_bytes(b"\n".join(lines))
    with pytest.raises(InputError, match=r"pm\.csv, line 5: not UTF-8"):
        load_pm25(isolated_csv)
    lines = fuzzing.pm25_seed().split(b"\n")
    lines[3] = lines[3].replace(b"2010", b"1e300", 1)
    isolated_csv.write_bytes(b"\n".join(lines))
    with pytest.raises(InputError, match=r"pm\.csv: line 4 .*column 'year': expected an integer"):
        load_pm25(isolated_csv)


@pytest.fixture
def isolated_csv(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("RNNLAB_DATA", str(tmp_path / "none"))
    return tmp_path / "pm.csv"


def test_pm25_with_a_byte_order_mark_loads_as_before(isolated_csv):
    isolated_csv.write_bytes(fuzzing.pm25_seed())
    plain = load_pm25(isolated_csv)
    isolated_csv.write_bytes(b"\xef\xbb\xbf" + fuzzing.pm25_seed())
    np.testing.assert_array_equal(load_pm25(isolated_csv).values, plain.values)


def test_translation_pairs_bad_bytes_name_the_line(tmp_path):
    f = tmp_path / "pairs.txt"
    f.write_bytes(fuzzing.TRANSLATE_SEED.replace("住手".encode(), b"\xff\xfe"))
    with pytest.raises(InputError, match=r"pairs\.txt, line 3: not UTF-8"):
        read_pairs(str(f))


def test_ucr_and_text_bad_bytes_name_the_line(tmp_path):
    f = tmp_path / "t.ts"
    f.write_bytes(fuzzing.UCR_SEEDS[0].replace(b"4.5", b"4\xc3"))
    with pytest.raises(InputError, match=r"t\.ts, line 10: not UTF-8"):
        load_ts(f)
    g = tmp_path / "t.txt"
    g.write_bytes(b"ok\nok\n\x80")
    with pytest.raises(InputError, match=r"t\.txt, line 3: not UTF-8 text \(invalid start byte at byte 6\)"):
        read_text_file("text/none.txt", g, "--text")


def test_sentiment_id_beyond_64_bits_names_the_line(tmp_path):
    f = tmp_path / "s.txt"
    f.write_bytes(fuzzing.SENTIMENT_SEED.replace(b"3\t", b"99999999999999999999999\t", 1))
    with pytest.raises(InputError, match=r"s\.txt, line 3: expected a snippet id that fits 64 bits"):
        read_snippets(str(f))


# ------------------------------------------------------------------------- regressions: chorale cache
def npz_with(member: str, transform) -> bytes:
    blob = fuzzing.chorale_seeds()[0]["c.npz"]
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members[member] = transform(members[member])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    return out.getvalue()


@pytest.mark.parametrize("blob", [
    npz_with("notes.npy", lambda b: b.replace(b"(4, 3)", b"(100000000, 3)")),
    npz_with("lengths.npy", lambda b: b.replace(b"'<i8'", b"'|O'")),
    npz_with("meta.npy", lambda b: b[:-5]),
    b"PK\x03\x04 not a zip",
])
def test_damaged_chorale_cache_is_an_input_error_without_allocating(tmp_path, blob):
    path = tmp_path / "c.npz"
    path.write_bytes(blob)
    exc, peak = peak_of(lambda: chorales._load(path))
    assert isinstance(exc, InputError) and "damaged chorale cache" in str(exc) and str(path) in str(exc)
    assert peak < 32


def test_damaged_chorale_cache_is_skipped(tmp_path, monkeypatch):
    monkeypatch.setattr(chorales, "cache_dir", lambda: tmp_path)
    (tmp_path / "chorales").mkdir()
    (tmp_path / "chorales" / f"notes-v{chorales.CONVERTER_VERSION}-all.npz").write_bytes(b"PK\x03\x04 junk")
    assert chorales._cached(None) is None
    good = fuzzing.chorale_seeds()[0]["c.npz"]
    (tmp_path / "chorales" / f"notes-v{chorales.CONVERTER_VERSION}-all.npz").write_bytes(good)
    got = chorales._cached(None)
    assert [c.name for c in got] == ["bwv1", "bwv2"] and got[1].notes.tolist() == [[55.0, 0.0, 4.0]]


def test_command_line_runs_and_reports(capsys):
    assert "--long" in fuzzing.__doc__ and "100,000" in fuzzing.__doc__
    assert fuzzing.main(["--cases", "20", "--target", "text", "--target", "sentiment"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("20 cases in") and "sentiment" in out and "text" in out


@pytest.mark.parametrize("entry", ["/dev/zero", "../model.json", "extras", ""])
def test_weights_entry_must_name_a_file_in_the_folder(tmp_path, model_seed, entry):
    folder = write(tmp_path / "m", with_meta(model_seed, lambda m: m["weights"].update(file=entry)))
    (folder / "extras").mkdir(exist_ok=True)
    with pytest.raises(ModelFileError, match="model folder|not a regular file"):
        rnnlab.load(folder)


def test_unreadable_model_json_or_vocabulary_is_a_model_file_error(tmp_path, model_seed):
    folder = write(tmp_path / "m", {k: v for k, v in model_seed.items() if k != "model.json"})
    (folder / "model.json").mkdir()
    with pytest.raises(ModelFileError, match="model.json: cannot read it"):
        rnnlab.load(folder)
    with pytest.raises(ModelFileError, match="cannot read the vocabulary"):
        Vocabulary.load(folder)


def test_valid_model_folders_still_load_exactly(tmp_path):
    from safetensors.numpy import load as st_load
    from rnnlab.layers import Dropout, TimePool
    for i, files in enumerate(fuzzing.model_seeds() + fuzzing.chorale_model_seeds()):
        m = rnnlab.load(write(tmp_path / f"m{i}", files))
        saved = st_load(files["weights.safetensors"])
        assert set(saved) == {n for n, _, _ in m.named_params()}
        for name, p, _ in m.named_params():
            np.testing.assert_array_equal(p, saved[name])
    bare = rnnlab.Sequential([Dropout(0.1), TimePool()], input_size=3)       # no parameters at all
    bare.save(tmp_path / "bare")
    assert rnnlab.load(tmp_path / "bare").input_size == 3
