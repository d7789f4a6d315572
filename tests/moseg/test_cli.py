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
