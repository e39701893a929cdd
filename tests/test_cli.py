"""The ``rnnlab`` command: task options from each task's Config, config.json, INCOMPLETE, errors."""
import dataclasses
import json
import subprocess
import sys

import pytest

from rnnlab import registry
from rnnlab.cli import build_parser, main
from rnnlab.tasks import TASKS, get_task
from rnnlab.tasks.config import config_from_args, config_from_dict, config_to_dict
from rnnlab.tasks.launch import read_run_config, resume_command

MY_TASKS = ("echo", "subtraction", "dates")


@pytest.mark.parametrize("task", MY_TASKS)
def test_task_follows_the_contract(task):
    mod = get_task(task)
    assert mod.NAME == task and isinstance(mod.SUMMARY, str) and mod.SUMMARY
    cfg = mod.Config()
    assert dataclasses.is_dataclass(cfg) and cfg.seed == 0
    for f in dataclasses.fields(mod.Config):
        assert f.metadata.get("help"), f"{task}.Config.{f.name} has no help text"
        assert f.name not in ("out", "quiet", "resume", "checkpoint_every")
    assert not hasattr(mod, "add_arguments")


@pytest.mark.parametrize("task", MY_TASKS)
def test_config_round_trip(task):
    cls = get_task(task).Config
    cfg = dataclasses.replace(cls(), seed=7, epochs=3)
    back = config_from_dict(cls, json.loads(json.dumps(config_to_dict(cfg))))
    assert back == cfg and back.seed == 7 and back.epochs == 3
    # and through the command line: given options replace the defaults, the rest stay
    ns = build_parser().parse_args(["run", task, "--seed", "7", "--epochs", "3", "--batch-size", "5"])
    assert config_from_args(cls, ns) == dataclasses.replace(cls(), seed=7, epochs=3, batch_size=5)


def _cell_choices(task, capsys) -> list[str]:
    """The --cell choices argparse reports for a wrong value."""
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["run", task, "--cell", "nocell"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    return [c.strip(" '") for c in err.split("choose from ")[1].strip().rstrip(")").split(",")]


@pytest.mark.parametrize("task", MY_TASKS)
def test_cell_choices_come_from_the_registry(task, monkeypatch, capsys):
    assert _cell_choices(task, capsys) == list(registry.recurrent_names())
    assert {"rnn", "lstm", "gru"} <= set(registry.recurrent_names())
    monkeypatch.setattr(registry, "recurrent_names", lambda: ("rnn", "lstm", "gru", "mycell"))
    assert build_parser().parse_args(["run", task, "--cell", "mycell"]).cell == "mycell"
    assert _cell_choices(task, capsys) == ["rnn", "lstm", "gru", "mycell"]


def test_tasks_keep_their_module_paths():
    assert TASKS["pm25"] == "rnnlab.tasks.pm25" and TASKS["mnist-rows"] == "rnnlab.tasks.mnist_rows"
    assert TASKS["echo"] == "rnnlab.tasks.echo"


def test_list(capsys):
    assert main(["list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    names = [line.split()[0] for line in listed]
    assert {"echo", "subtraction", "dates"} <= set(names)


def test_run_folder_life_cycle(tmp_path, monkeypatch, capsys):
    """config.json and INCOMPLETE exist while the task runs, before any result; INCOMPLETE goes last."""
    echo = get_task("echo")
    seen = {}
    original = echo.run

    def spy(config, ctx):
        seen["files"] = sorted(p.name for p in ctx.folder.path.iterdir())
        seen["incomplete"] = (ctx.folder.path / "INCOMPLETE").read_text()
        seen["fit"] = ctx.fit_options()
        return original(config, ctx)

    monkeypatch.setattr(echo, "run", spy)
    out = tmp_path / "echo"
    assert main(["run", "echo", "--quiet", "--epochs", "2", "--checkpoint-every", "7", "--out", str(out)]) == 0
    assert seen["files"] == ["INCOMPLETE", "config.json"]
    assert resume_command("echo", out) in seen["incomplete"]
    assert seen["fit"] == {"verbose": 0, "checkpoint_dir": out / "checkpoint", "checkpoint_every": 7, "resume": False}
    assert not (out / "INCOMPLETE").exists() and (out / "metrics.json").exists()
    doc = json.loads((out / "config.json").read_text())
    assert doc["task"] == "echo" and doc["run"] == {"checkpoint_every": 7}
    assert doc["config"] == config_to_dict(dataclasses.replace(echo.Config(), epochs=2))
    config, run = read_run_config("echo", out)
    assert config == echo.Config(epochs=2) and run["checkpoint_every"] == 7
    # --quiet still prints the one-line result
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("echo: test R²") and lines[0].endswith(str(out))


def test_resume_reads_the_folder_config(tmp_path, monkeypatch):
    echo = get_task("echo")
    out = tmp_path / "echo"
    assert main(["run", "echo", "--quiet", "--epochs", "2", "--hidden", "3", "--checkpoint-every", "9",
                 "--out", str(out)]) == 0
    seen = {}
    monkeypatch.setattr(echo, "run", lambda config, ctx: seen.update(config=config, fit=ctx.fit_options()) or {})
    assert main(["run", "echo", "--quiet", "--resume", str(out)]) == 0
    assert seen["config"] == echo.Config(epochs=2, hidden=3)
    assert seen["fit"]["resume"] is True and seen["fit"]["checkpoint_every"] == 9
    assert seen["fit"]["checkpoint_dir"] == out / "checkpoint"
    # an option given with --resume overrides the saved one, and config.json records it
    assert main(["run", "echo", "--quiet", "--epochs", "4", "--resume", str(out)]) == 0
    assert seen["config"] == echo.Config(epochs=4, hidden=3)
    assert json.loads((out / "config.json").read_text())["config"]["epochs"] == 4


def test_resume_errors_name_the_file(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["run", "echo", "--resume", str(empty)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(empty / "config.json") in err[0] and "not found" in err[0]

    other = tmp_path / "sub"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"task": "subtraction", "config": {}}))
    assert main(["run", "echo", "--resume", str(other)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(other / "config.json") in err[0]
    assert "'subtraction' run, not 'echo'" in err[0] and "rnnlab run subtraction --resume" in err[0]

    (other / "config.json").write_text("{not json")
    assert main(["run", "subtraction", "--resume", str(other)]) == 2
    assert str(other / "config.json") in capsys.readouterr().err

    (other / "config.json").write_text(json.dumps({"task": "subtraction", "config": {"bogus": 1}}))
    assert main(["run", "subtraction", "--resume", str(other)]) == 2
    err = capsys.readouterr().err
    assert str(other / "config.json") in err and "bogus" in err

    assert main(["run", "echo", "--resume", str(empty), "--out", str(tmp_path / "elsewhere")]) == 2
    assert "--out" in capsys.readouterr().err


def test_bad_option_is_a_clear_error(tmp_path, capsys):
    assert main(["run", "echo", "--quiet", "--hidden", "0", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.splitlines()       # argparse's form: the usage, then one error line
    assert err[0].startswith("usage: rnnlab run echo")
    assert err[-1] == "rnnlab run echo: error: argument --hidden: expected an integer >= 1, got 0"
    assert not (tmp_path / "x").exists()
    assert main(["run", "echo", "--quiet", "--checkpoint-every", "0", "--out", str(tmp_path / "y")]) == 2
    assert "--checkpoint-every: expected a positive number" in capsys.readouterr().err


def test_python_dash_m_rnnlab():
    done = subprocess.run([sys.executable, "-m", "rnnlab", "list"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("echo")
