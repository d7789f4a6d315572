import pytest
import yaml

from moseg.cli import main
from moseg.train import TrainConfig, load_train_config
from moseg.util.config import ConfigError, apply_overrides


def test_defaults_yaml_and_overrides_apply_in_order(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"seed": 3, "optim": {"lr": 0.1}, "data": {"crop_size": [64, 96]}}))
    config = load_train_config(path, ["optim.lr=0.02", "loss.ohem=true", "model.space={max_depth: 2}"])
    assert isinstance(config, TrainConfig)
    assert config.seed == 3 and config.optim.lr == 0.02 and config.loss.ohem is True
    assert config.data.crop_size == (64, 96) and config.model.space == {"max_depth": 2}
    assert config.optim.momentum == TrainConfig().optim.momentum  # untouched defaults stay
    assert not config.standalone


@pytest.mark.parametrize("override, message", [
    ("optim.lrr=0.1", "unknown key 'optim.lrr'; allowed keys in optim: ['grad_clip', 'lr',"),
    ("colour=red", "unknown key 'colour'; allowed keys in the configuration: ['data', 'device',"),
    ("train.amp=fp8", "train.amp = 'fp8': expected one of ['auto', 'off', 'bf16', 'fp16']"),
    ("data.dataset=mnist", "data.dataset = 'mnist': expected one of ['ade20k', 'camvid', 'cityscapes', 'synthetic']"),
    ("optim.lr=-1", "optim.lr = -1.0: expected > 0"),
    ("data.batch_size=2.5", "data.batch_size = 2.5: expected an integer"),
    ("data.crop_size=[64]", "data.crop_size = [64]: expected a list of 2 values"),
    ("train.progress=maybe", "train.progress = 'maybe': expected true or false"),
    ("loss.distill_alpha=1.5", "loss.distill_alpha = 1.5: expected in [0, 1]"),
    ("data.scale_range=[2.0, 1.0]", "data.scale_range = [2.0, 1.0]: expected 0 < low <= high"),
    ("device=tpu", "device = 'tpu': expected 'auto', 'cpu', 'cuda' or 'cuda:N'"),
    ("model.arch=missing.json", "model.arch = 'missing.json': no such arch JSON file"),
    ("optim=0.1", "optim = 0.1: expected a mapping"),
    ("optim.lr", "override 'optim.lr': expected KEY=VALUE"),
    ("optim.lr=.inf", "optim.lr = inf: expected a finite number"),
    ("data.train_split=test", "data.train_split = 'test': the test split is only read to score the final networks"),
    ("data.val_split=test", "data.val_split = 'test': the test split is only read to score the final networks"),
    ("optim.lr=.nan", "optim.lr = nan: expected a finite number"),
    ("optim.lr=1e400", "optim.lr = '1e400': expected a finite number"),
    ("optim.lr=fast", "optim.lr = 'fast': expected a finite number"),
    ("loss.distill_temperature=-.inf", "loss.distill_temperature = -inf: expected a finite number"),
    ("data.crop_size=[32,", "override 'data.crop_size=[32,': the value is not valid YAML (expected the node"),
    ("data.options={scale: 0.5, scale: 1}", "the value is not valid YAML (key 'scale' appears twice in one mapping"),
])
def test_bad_keys_and_values_name_the_key_and_what_is_allowed(override, message):
    with pytest.raises(ConfigError) as err:
        load_train_config(None, [override])
    assert message in str(err.value)


def test_bad_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_train_config(tmp_path / "none.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="holds list; expected a mapping"):
        load_train_config(tmp_path / "list.yaml")


@pytest.mark.parametrize(("text", "message"), [
    (b"", "is empty (or holds only comments); give at least one key"),
    (b"# only a comment\n", "is empty (or holds only comments)"),
    (b"optim:\n  lr: 0.1\n  lr: 0.2\n", "not valid YAML: key 'lr' appears twice in one mapping at line 3, column 3"),
    (b"seed: 1\nseed: 2\n", "key 'seed' appears twice in one mapping at line 2, column 1"),
    (b"optim: {lr: 0.1\n", "is not valid YAML: expected ',' or '}'"),
    (b"seed: 1\ndevice: \xe9cpu\n", "is not UTF-8 text (byte 0xe9 at offset 16); save it as UTF-8 YAML"),
])
def test_a_malformed_config_file_is_named_with_the_problem(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_bytes(text)
    with pytest.raises(ConfigError) as err:
        load_train_config(path)
    assert str(path) in str(err.value) and message in str(err.value)


@pytest.mark.parametrize(("override", "value"), [
    ("optim.lr=1e-3", 0.001), ("optim.lr=1E-3", 0.001), ("optim.lr=5", 5.0), ("optim.lr='0.5'", 0.5),
])
def test_numbers_yaml_reads_as_strings_are_valid_floats(override, value):
    assert load_train_config(None, [override]).optim.lr == value


def test_a_yaml_file_with_lr_in_exponent_notation_loads(tmp_path):
    (tmp_path / "c.yaml").write_text("optim:\n  lr: 1e-3\n")
    assert load_train_config(tmp_path / "c.yaml").optim.lr == 0.001


def test_overrides_do_not_modify_the_input():
    data = {"optim": {"lr": 0.1}}
    out = apply_overrides(data, ["optim.lr=0.2", "train.iterations=5"])
    assert data == {"optim": {"lr": 0.1}} and out == {"optim": {"lr": 0.2}, "train": {"iterations": 5}}
    with pytest.raises(ConfigError, match="optim.lr is a value, not a section"):
        apply_overrides(out, ["optim.lr.x=1"])


def test_cli_reports_a_bad_key_before_any_work(capsys, tmp_path):
    assert main(["train-supernet", f"out_dir={tmp_path / 'r'}", "train.iterationz=5"]) == 2
    assert "unknown key 'train.iterationz'" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_defaults_merge_section_by_section_and_variable_length_lists_are_typed(tmp_path):
    from dataclasses import dataclass, field

    from moseg.util.config import load_config, merge

    @dataclass
    class Schema:
        names: tuple[str, ...] = ()
        section: dict = field(default_factory=dict)

    assert merge({"a": {"b": 1, "c": 2}, "d": 3}, {"a": {"c": 4}}) == {"a": {"b": 1, "c": 4}, "d": 3}
    path = tmp_path / "c.yaml"
    path.write_text("section: {y: 2}\n")
    config = load_config(Schema, path, ["names=[a, b]"], defaults={"section": {"x": 1, "y": 1}})
    assert config.names == ("a", "b") and config.section == {"x": 1, "y": 2}
    with pytest.raises(ConfigError, match=r"names\[1\] = 3: expected a string"):
        load_config(Schema, None, ["names=[a, 3]"])
    with pytest.raises(ConfigError, match="names = 'a': expected a list"):
        load_config(Schema, None, ["names=a"])


def test_a_section_written_once_with_a_yaml_anchor_is_overridden_in_one_place_only():
    data = yaml.safe_load("a: &shared {size: 1}\nb: *shared\n")
    assert apply_overrides(data, ["a.size=2"]) == {"a": {"size": 2}, "b": {"size": 1}}
