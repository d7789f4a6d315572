import pytest
import torch

from moseg.jobs.search import SearchJobConfig
from moseg.latency import LatencySettings
from moseg.train.config import load_train_config
from moseg.util.config import ConfigError, load_config
from moseg.util.devices import resolve_device


def test_auto_is_the_gpu_when_there_is_one_else_the_cpu():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


@pytest.mark.parametrize("name", ["tpu", "cuda:x", "gpu0", "", "mps"])
def test_a_misspelt_device_is_named_with_the_accepted_forms(name):
    with pytest.raises(ValueError, match=rf"device = '{name}': expected 'auto', 'cpu', 'cuda' or 'cuda:N'"):
        resolve_device(name)


def test_auto_is_refused_where_the_device_is_recorded_with_the_results():
    with pytest.raises(ValueError, match=r"device = 'auto': expected 'cpu', 'cuda' or 'cuda:N'"):
        resolve_device("auto", allow_auto=False)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
@pytest.mark.parametrize("name", ["cuda", "cuda:1"])
def test_a_gpu_this_machine_lacks_is_named(name):
    with pytest.raises(ValueError, match=rf"device = '{name}' but no CUDA GPU is available here"):
        resolve_device(name, local_rank=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_a_gpu_index_past_the_visible_ones_is_named():
    with pytest.raises(ValueError, match="GPU\\(s\\) are visible"):
        resolve_device(f"cuda:{torch.cuda.device_count()}")


@pytest.mark.parametrize("load", [
    lambda overrides: load_train_config(None, overrides),
    lambda overrides: load_config(SearchJobConfig, None, overrides),
    lambda overrides: load_config(LatencySettings, None, overrides),
], ids=["train", "search", "latency"])
def test_every_config_rejects_a_misspelt_device_when_loaded(load):
    with pytest.raises(ConfigError, match=r"device = 'cuda0': expected .*'cpu', 'cuda' or 'cuda:N'"):
        load(["device=cuda0"])


def test_a_config_for_a_gpu_machine_loads_on_a_machine_without_one():
    assert load_train_config(None, ["device=cuda:3"]).device == "cuda:3"
    assert load_config(SearchJobConfig, None, ["device=cuda"]).device == "cuda"
    with pytest.raises(ConfigError, match="device = 'auto'"):
        load_config(LatencySettings, None, ["device=auto"])
