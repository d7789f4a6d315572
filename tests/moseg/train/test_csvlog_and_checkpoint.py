import random

import numpy as np
import pytest
import torch

from moseg.csvlog import CsvLog
from moseg.train.checkpoint import load_checkpoint, save_checkpoint


def test_csv_log_appends_and_truncates_for_resume(tmp_path):
    log = CsvLog(tmp_path / "log.csv", ["iteration", "loss"])
    for i in range(1, 6):
        log.append({"iteration": i, "loss": 1.0 / i})
    assert [r["iteration"] for r in log.rows()] == ["1", "2", "3", "4", "5"]
    log.keep_until("iteration", 3)
    log.append({"iteration": 4})  # a missing value is written empty
    assert [(r["iteration"], r["loss"]) for r in CsvLog(tmp_path / "log.csv", ["iteration", "loss"]).rows()] == [
        ("1", "1.0"), ("2", "0.5"), ("3", "0.3333333333333333"), ("4", "")]
    with pytest.raises(ValueError, match="has columns"):
        CsvLog(tmp_path / "log.csv", ["iteration"])
    with pytest.raises(ValueError, match=r"\['lr'\] not in"):
        log.append({"lr": 1})


def test_csv_log_written_before_columns_were_added_gains_them_empty(tmp_path):
    path = tmp_path / "log.csv"
    CsvLog(path, ["a", "b"]).append({"a": 1, "b": 2})
    log = CsvLog(path, ["a", "b", "c"])
    log.append({"a": 3, "c": 4})
    assert log.rows() == [{"a": "1", "b": "2", "c": ""}, {"a": "3", "b": "", "c": "4"}]
    with pytest.raises(ValueError, match="has columns \\['a', 'b', 'c'\\], expected \\['a', 'x'\\]"):
        CsvLog(path, ["a", "x"])


def test_checkpoint_restores_every_generator(tmp_path):
    from moseg.train.checkpoint import restore_rng

    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)
    path = save_checkpoint(tmp_path / "c.pt", {"iteration": 7})
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    state = load_checkpoint(path)
    assert state["iteration"] == 7 and not (tmp_path / "c.pt.tmp").exists()
    restore_rng(state["rng"])
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


def test_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_checkpoint(tmp_path / "none.pt")
    torch.save({"weights": 1}, tmp_path / "foreign.pt")
    with pytest.raises(ValueError, match="is not a moseg checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")
