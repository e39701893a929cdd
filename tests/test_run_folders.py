"""Run folders: default names, runs/latest, refusing to overwrite, replacing only when finished,
nothing left behind by a run that never reached a checkpoint, modes, metrics.json provenance."""
import json
import os
import stat

import pytest

import rnnlab
from rnnlab.cli import main
from rnnlab.errors import InputError, TrainingInterrupted
from rnnlab.tasks import echo, folders, launch

TINY = ["--epochs", "1", "--samples", "200", "--quiet"]


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_default_folder_depends_on_the_options_and_latest_points_at_the_newest(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "echo", *TINY]) == 0
    assert main(["run", "echo", *TINY, "--cell", "gru"]) == 0
    runs = tmp_path / "runs"
    made = sorted(p.name for p in runs.iterdir() if p.name != "latest")
    assert len(made) == 2, made                          # the second did not overwrite the first
    plain, gru = sorted(made, key=lambda n: "cell_gru" in n)
    assert plain.startswith("echo-epochs_1-samples_200-") and "cell_gru" in gru
    assert (runs / "latest").resolve() == (runs / gru).resolve()
    assert json.loads((runs / "latest" / "metrics.json").read_text())["hyperparameters"]["cell"] == "gru"
    # --quiet still prints the result, with the ABSOLUTE path of the folder
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[1].startswith("echo: test R²") and lines[1].endswith(str(runs / gru))


def test_same_second_same_options_get_distinct_folders(tmp_path):
    import datetime
    now = datetime.datetime(2026, 1, 2, 3, 4, 5)
    first = folders.default_folder("echo", echo.Config(), root=tmp_path, now=now)
    assert first.name == "echo-20260102-030405"
    first.mkdir()
    assert folders.default_folder("echo", echo.Config(), root=tmp_path, now=now).name == "echo-20260102-030405-2"
    long = folders.option_tag(echo.Config(cell="gru", epochs=7, samples=123456, batch_size=3, hidden=99, lr=0.5))
    assert len(long) <= 60


def test_a_finished_run_is_not_overwritten_without_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "echo", *TINY, "--out", str(out)]) == 0
    before = (out / "metrics.json").read_bytes()
    capsys.readouterr()
    assert main(["run", "echo", *TINY, "--seed", "5", "--out", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("rnnlab run echo: error: argument --out: expected a new folder") and "--overwrite" in err[-1]
    assert (out / "metrics.json").read_bytes() == before
    assert main(["run", "echo", *TINY, "--seed", "5", "--out", str(out), "--overwrite"]) == 0
    assert json.loads((out / "metrics.json").read_text())["hyperparameters"]["seed"] == 5
    assert not folders.pending_sibling(out).exists()


def test_an_interrupted_replacement_leaves_the_old_run_untouched_and_resumes(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    assert main(["run", "echo", *TINY, "--out", str(out)]) == 0
    old = {name: (out / name).read_bytes() for name in ("metrics.json", "history.csv", "config.json")}
    old_names = _names(out)
    original = echo.run

    def interrupted(config, ctx):                        # train, then stop as a Ctrl-C in fit would
        ctx.folder.file("history.csv").write_text("partial\n")
        from rnnlab.training import checkpoint
        checkpoint.write(ctx.checkpoint_dir, {"x": 1}, {})
        raise TrainingInterrupted("training interrupted by SIGINT at epoch 1, batch 3 of 7; checkpoint written",
                                  signal_name="SIGINT", exit_code=130, checkpoint=ctx.checkpoint_dir)

    monkeypatch.setattr(echo, "run", interrupted)
    capsys.readouterr()
    assert main(["run", "echo", *TINY, "--seed", "5", "--out", str(out), "--overwrite"]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    pending = folders.pending_sibling(out)
    assert len(err) == 1 and err[0].endswith(f"resume with: rnnlab run echo --resume {pending}")
    assert _names(out) == old_names and all((out / n).read_bytes() == b for n, b in old.items())
    assert {"INCOMPLETE", "config.json", "checkpoint", "history.csv"} <= set(_names(pending))
    assert f"rnnlab run echo --resume {pending}" in (pending / "INCOMPLETE").read_text()
    # resume (through the finished folder's name or the pending one): replaces the old run when done
    monkeypatch.setattr(echo, "run", original)
    (pending / "checkpoint" / "checkpoint.safetensors").unlink()      # (the fake one cannot be resumed)
    assert main(["run", "echo", "--quiet", "--resume", str(out)]) == 0
    assert not pending.exists() and "INCOMPLETE" not in _names(out)
    assert json.loads((out / "metrics.json").read_text())["hyperparameters"]["seed"] == 5
    assert (out / "history.csv").read_text().startswith("epoch,")


def test_interrupt_before_the_first_checkpoint_leaves_nothing(tmp_path, monkeypatch, capsys):
    def early(config, ctx):
        raise KeyboardInterrupt

    monkeypatch.setattr(echo, "run", early)
    out = tmp_path / "new"
    assert main(["run", "echo", *TINY, "--out", str(out)]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nothing was kept" in err[0] and "start again with: rnnlab run echo" in err[0]
    assert not out.exists()


def test_an_error_before_any_checkpoint_leaves_no_empty_folder(tmp_path, monkeypatch):
    def broken(config, ctx):
        raise InputError("--hidden: expected something else, got 4")

    monkeypatch.setattr(echo, "run", broken)
    assert main(["run", "echo", *TINY, "--out", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()


def test_an_interrupted_run_in_place_is_not_restarted_by_accident(tmp_path, capsys):
    out = tmp_path / "r"
    out.mkdir()
    (out / "INCOMPLETE").write_text("x")
    (out / "config.json").write_text(json.dumps({"task": "echo", "config": {}}))
    (out / "checkpoint").mkdir()
    (out / "checkpoint" / "checkpoint.safetensors").write_bytes(b"x")
    assert main(["run", "echo", *TINY, "--out", str(out)]) == 2
    assert f"rnnlab run echo --resume {out}" in capsys.readouterr().err
    assert (out / "checkpoint" / "checkpoint.safetensors").read_bytes() == b"x"


@pytest.mark.parametrize("args, message", [
    (["--epochs", "0"], "argument --epochs: expected an integer >= 1, got 0"),
    (["--epochs", "-3"], "argument --epochs: expected an integer >= 1, got -3"),
    (["--epochs", "x"], "argument --epochs: expected an integer, got 'x'"),
    (["--seed", "-1"], "argument --seed: expected an integer >= 0, got -1"),
    (["--out", ""], "argument --out: expected a folder path, got ''"),
])
def test_bad_values_are_one_usage_error_naming_only_that_option(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "echo", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("usage: rnnlab run echo") and err[-1] == f"rnnlab run echo: error: {message}"
    assert "batch" not in err[-1] and "Traceback" not in "\n".join(err)
    assert list(tmp_path.iterdir()) == []                 # no folder made


def test_out_pointing_at_a_file_is_one_line(tmp_path, capsys):
    f = tmp_path / "afile"
    f.write_text("mine")
    assert main(["run", "echo", *TINY, "--out", str(f)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"rnnlab run echo: error: argument --out: expected a folder, got the existing file '{f}'"
    assert f.read_text() == "mine"


def test_out_pointing_at_a_folder_of_other_files_is_refused(tmp_path, capsys):
    (tmp_path / "mine.txt").write_text("keep")
    assert main(["run", "echo", *TINY, "--out", str(tmp_path), "--overwrite"]) == 2
    assert "holds other files" in capsys.readouterr().err
    assert _names(tmp_path) == ["mine.txt"]


def test_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        out = tmp_path / "run"
        assert main(["run", "echo", *TINY, "--out", str(out)]) == 0
    finally:
        os.umask(old)
    for p in [out, *out.rglob("*")]:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == (0o755 if p.is_dir() else 0o644), (p, oct(mode))


def test_metrics_json_records_version_time_command_and_units(tmp_path):
    out = tmp_path / "run"
    assert main(["run", "echo", *TINY, "--out", str(out)]) == 0
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["versions"]["rnnlab"] == rnnlab.__version__
    assert doc["command"] == f"rnnlab run echo {' '.join(TINY)} --out {out}"
    assert doc["finished_utc"].endswith("+00:00") and doc["finished_utc"][:2] == "20"
    assert doc["units"]["seconds"].startswith("s") and doc["units"]["test_r2"].startswith("R²")
    assert doc["units"]["test_mse"] == "squared units of the target"


def test_run_task_api_keeps_explicit_folders_and_resume(tmp_path, capsys):
    """What python -m rnnlab.tasks.translate.table relies on: out=folder, resume when INCOMPLETE."""
    out = tmp_path / "row"
    doc = launch.run_task("echo", echo.Config(epochs=1, samples=200), out=out, quiet=True)
    assert doc["metrics"] == json.loads((out / "metrics.json").read_text())["metrics"]
    again = launch.run_task("echo", echo.Config(epochs=1, samples=200), out=out, quiet=True, resume=True)
    assert again["metrics"] == doc["metrics"] and not (out / "INCOMPLETE").exists()
    with pytest.raises(InputError, match="--epochs: expected an integer >= 1, got 0"):
        launch.run_task("echo", echo.Config(epochs=0), out=tmp_path / "bad")
    assert not (tmp_path / "bad").exists()
