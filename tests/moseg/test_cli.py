import json
import shutil
import subprocess

import pytest

from moseg.cli import main
from moseg.space import Arch, SearchSpace


def test_space_command_prints_summary_table_and_json(capsys):
    assert main(["space", "--sample", "2", "--seed", "1", "--json", "--resolution", "720x960"]) == 0
    out = capsys.readouterr().out
    assert "126 integer genes" in out and "GFLOPs @720x960" in out
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [r["name"] for r in records] == ["min", "max", "sample 0", "sample 1"]
    space = SearchSpace()
    assert Arch.from_dict(records[2]["arch"]) == space.decode(space.sample(2, 1)[0])


def test_threads_default_to_one_for_the_demo_and_are_restored(monkeypatch, capsys):
    import torch

    from moseg import cli

    seen = []
    monkeypatch.setattr(cli, "cmd_demo", lambda args: seen.append(torch.get_num_threads()) or 0)
    monkeypatch.setattr(cli, "cmd_space", lambda args: seen.append(torch.get_num_threads()) or 0)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    assert main(["demo"]) == 0 and main(["--threads", "2", "demo"]) == 0 and main(["space"]) == 0
    assert seen == [1, 2, before] and torch.get_num_threads() == before
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert main(["demo"]) == 0 and seen[-1] == before  # the environment's choice, read by torch, is kept
    for bad in (["--threads", "0", "space"], ["latency", "--threads", "-1", "--out", "x.csv"]):
        with pytest.raises(SystemExit):
            main(bad)
        assert "expected a positive integer" in capsys.readouterr().err


def test_bad_resolution_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["space", "--resolution", "360by480"])
    assert exit_info.value.code == 2
    assert "expected HEIGHTxWIDTH" in capsys.readouterr().err


def test_console_script_is_installed():
    executable = shutil.which("moseg")
    assert executable, "the `moseg` console script is not on PATH: is the package installed?"
    result = subprocess.run([executable, "space", "--sample", "0"], capture_output=True, text=True)
    assert result.returncode == 0 and "distinct networks" in result.stdout


def test_train_supernet_reports_config_errors_found_by_the_trainer_with_exit_2(tmp_path, capsys):
    args = ["train-supernet", f"out_dir={tmp_path}", "device=cpu", "train.amp=fp16"]
    assert main(args) == 2
    assert "train.amp = 'fp16' needs a GPU" in capsys.readouterr().err


@pytest.mark.parametrize(("args", "message"), [
    (["train-supernet", "data.dataset=camvid", "data.root=/nonexistent"],
     "moseg train-supernet: /nonexistent/train does not exist; expected the layout train/ val/ test/"),
    (["train-supernet", "data.options={scale: 0.5, scale: 1}"], "key 'scale' appears twice in one mapping"),
    (["train-supernet", "data.crop_size=[32,"], "override 'data.crop_size=[32,': the value is not valid YAML"),
    (["train-supernet", "data.train_split=test"], "data.train_split = 'test': the test split is only read"),
    (["train-supernet", "optim.lr=.inf"], "optim.lr = inf: expected a finite number"),
    (["search", "split=test"], "moseg search: split = 'test': a search chooses networks"),
    (["search", "budget=5", "n_doe=9"], "moseg search: n_doe = 9 >= budget = 5"),
    (["retrain", "search_dir=/nonexistent"], "moseg retrain: "),
    (["plot", "pareto", "/nonexistent/retrained.csv", "--out", "figure"], "moseg plot: "),
    (["demo", "search.budget=0"], "moseg demo: search.budget = 0: expected > 0"),
    (["latency", "--dtype", "float8", "--out", "x.csv"], "moseg latency: dtype = 'float8', expected one of"),
    (["latency", "--mode", "turbo", "--out", "x.csv"], "moseg latency: mode = 'turbo', expected one of"),
    (["latency", "--device", "gpu", "--out", "x.csv"], "moseg latency: device = 'gpu': expected 'cpu', 'cuda'"),
])
def test_a_user_error_is_one_line_naming_the_command_with_exit_2(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    if args[0] == "search":
        (tmp_path / "supernet.pt").write_bytes(b"")
        args = [*args, "checkpoint=supernet.pt"]
    assert main([*args, f"out_dir={tmp_path / 'out'}"] if args[0] not in ("plot", "latency") else args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("args", [["space", "--sample", "-1"], ["space", "--seed", "x"],
                                  ["space", "--num-classes", "0"], ["latency", "--n", "-3", "--out", "x.csv"],
                                  ["latency", "--min-time", "-1", "--out", "x.csv"],
                                  ["latency", "--min-time", "nan", "--out", "x.csv"],
                                  ["latency", "--batch", "0", "--out", "x.csv"]])
def test_a_bad_number_on_the_command_line_is_a_usage_error(capsys, args):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2 and "expected" in capsys.readouterr().err


def test_debug_shows_the_traceback_and_internal_errors_keep_theirs(monkeypatch):
    from moseg import cli

    with pytest.raises(ValueError, match="search.budget = 0"):
        main(["--debug", "demo", "search.budget=0"])

    def broken(overrides):
        raise KeyError("an internal bug, not bad input")

    monkeypatch.setattr("moseg.jobs.demo.run_demo", broken)
    with pytest.raises(KeyError, match="an internal bug"):
        cli.main(["demo"])
