import random

import numpy as np
import pytest
import torch

from moseg.train.checkpoint import load_checkpoint, save_checkpoint
from moseg.util.csvlog import CsvLog, read_table
from moseg.util.schema import RENAMED_IN


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


def test_csv_log_under_older_column_names_is_renamed_in_place(tmp_path):
    path = tmp_path / "retrained.csv"
    path.write_text("name,arch,macs\nnet1,1 0 2,5\n")
    log = CsvLog(path, ["name", "genes", "macs", "status"], renamed=RENAMED_IN["retrained.csv"])
    log.append({"name": "net2", "genes": "2 0 1", "macs": 7, "status": "ok"})
    assert path.read_text().splitlines() == ["name,genes,macs,status", "net1,1 0 2,5,", "net2,2 0 1,7,ok"]
    path.write_text("name,arch,flops\nnet1,1 0 2,5\n")  # renamed, but not into today's columns
    with pytest.raises(ValueError, match=r"has columns \['name', 'arch', 'flops'\], expected"):
        CsvLog(path, ["name", "genes", "macs"], renamed=RENAMED_IN["retrained.csv"])
    frame = read_table(path, "a table", dtype={"genes": str}, renamed=RENAMED_IN["latency survey"])
    assert list(frame.columns) == ["name", "genes", "macs"] and frame["genes"].tolist() == ["1 0 2"]


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


@pytest.fixture
def checkpoint(tmp_path):
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8))
    return save_checkpoint(tmp_path / "checkpoint.pt", {"iteration": 1, "model": model.state_dict()})


def test_a_damaged_or_truncated_checkpoint_is_named(checkpoint, tmp_path):
    data = checkpoint.read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut.pt cannot be read as a checkpoint \(.*\); the file is truncated"):
        load_checkpoint(tmp_path / "cut.pt")
    (tmp_path / "garbage.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match="garbage.pt cannot be read as a checkpoint"):
        load_checkpoint(tmp_path / "garbage.pt")


def test_a_weight_changed_after_saving_fails_its_checksum(checkpoint):
    state = torch.load(checkpoint, weights_only=False)
    state["model"]["0.weight"][0, 0, 0, 0] = 353.0  # what one flipped exponent bit does to a weight
    torch.save(state, checkpoint)
    with pytest.raises(ValueError, match=r"checkpoint.pt: model tensor '0.weight' does not match the checksum"):
        load_checkpoint(checkpoint)


def test_a_flipped_byte_in_the_file_is_found(checkpoint):
    state = torch.load(checkpoint, weights_only=False)
    needle = state["model"]["0.weight"].reshape(-1)[:4].numpy().tobytes()
    data = bytearray(checkpoint.read_bytes())
    at = data.find(needle)
    assert at > 0
    data[at + 3] ^= 0x40  # the exponent byte of the first weight
    checkpoint.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"checkpoint.pt(: model tensor '0.weight' does not match| cannot be read)"):
        load_checkpoint(checkpoint)


def test_non_finite_weights_are_neither_written_nor_loaded(checkpoint, tmp_path):
    state = torch.load(checkpoint, weights_only=False)
    state["model"]["1.running_var"][2] = float("nan")
    with pytest.raises(ValueError, match=r"not writing .*: model tensor '1.running_var' holds NaN or infinity"):
        save_checkpoint(checkpoint, {"iteration": 2, "model": state["model"]})
    assert torch.load(checkpoint, weights_only=False)["iteration"] == 1  # the good one is kept
    from moseg.train.checkpoint import tensor_digests

    state["model_digests"] = tensor_digests(state["model"])
    torch.save(state, tmp_path / "nan.pt")
    with pytest.raises(ValueError, match=r"nan.pt: model tensor '1.running_var' holds NaN or infinity"):
        load_checkpoint(tmp_path / "nan.pt")
