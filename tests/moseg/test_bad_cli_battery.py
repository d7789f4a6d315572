"""A battery of malformed command lines and damaged run folders, run through `moseg` as a user would: every case
must end with exit status 2 and one line `moseg COMMAND: ...` (or argparse's usage error) that names the bad
value, key or file and what was expected, never a traceback and never a run that starts anyway.

The cases cover every subcommand: config files that are missing, unreadable or malformed; overrides that are
not KEY=VALUE, name unknown keys or carry bad values; bad flags of `space`, `latency` and `plot`; unreadable,
truncated or foreign checkpoints; and finished run folders (a search, a supernet) whose files were damaged
afterwards. A small supernet and a finished search are made once for the module; each damaging case works on
its own copy."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from moseg.cli import main
from moseg.train import load_train_config, train

TINY_SPACE = {"stem_widths": [8], "branch_widths": [[16, 24], [24, 32]], "head_widths": [16], "max_depth": 2,
              "expand_ratios": [2, 4], "heads": [1, 2], "kv_pools": [4]}
TINY_DATA = ["data.options={size: [48, 64], length: 8}", "data.crop_size=[48, 64]", "data.batch_size=4",
             "data.workers=0"]
TINY_TRAIN = ["device=cpu", *TINY_DATA, "train.iterations=2", "train.progress=false", "optim.warmup_iters=1",
              "eval.calib_images=2", "eval.calib_batch_size=2"]
TINY_SEARCH = ["budget=10", "n_doe=6", "n_infill=2", "surrogate=ridge_onehot", "pop_size=10", "n_gen=3",
               "device=cpu", "latency.kind=flops", "latency.resolution=[48, 64]"]
TINY_RECIPE = ["recipe.device=cpu", *(f"recipe.{o}" for o in TINY_TRAIN[1:]), "onnx=false",
               "latency.resolution=[48, 64]", "latency.min_time_s=0", "baselines=[]", "n_select=1"]


@dataclass(frozen=True)
class World:
    """What the cases start from: a supernet's run folder and a finished search of it."""
    supernet: Path
    search: Path

    @property
    def checkpoint(self) -> Path:
        return self.supernet / "checkpoint.pt"


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    root = tmp_path_factory.mktemp("world")
    supernet, search = root / "supernet", root / "search"
    train(load_train_config(None, [f"out_dir={supernet}", f"model.space={TINY_SPACE}", *TINY_TRAIN]))
    assert main(["search", f"checkpoint={supernet / 'checkpoint.pt'}", f"out_dir={search}", *TINY_SEARCH]) == 0
    return World(supernet, search)


@dataclass(frozen=True)
class Case:
    """One malformed input: `argv(world, tmp)` builds the command line (writing any files it needs under tmp);
    `expected` is a regex the error line must match: the bad value, key or file and what was expected."""
    name: str
    argv: Callable[[World, Path], list[str]]
    expected: str


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def copy_of(folder: Path, tmp: Path) -> Path:
    return Path(shutil.copytree(folder, tmp / folder.name))


def edited(folder: Path, tmp: Path, name: str, edit: Callable[[bytes], bytes]) -> Path:
    """A copy of a run folder with one file rewritten by `edit` (bytes to bytes)."""
    copy = copy_of(folder, tmp)
    write(copy / name, edit((copy / name).read_bytes()))
    return copy


# --- the config-driven commands: how each is started, and a key of each kind --------------------------------------

def train_argv(world: World, tmp: Path, *extra: str) -> list[str]:
    return ["train-supernet", f"out_dir={tmp / 'out'}", *TINY_TRAIN, *extra]


def search_argv(world: World, tmp: Path, *extra: str) -> list[str]:
    return ["search", f"checkpoint={world.checkpoint}", f"out_dir={tmp / 'out'}", *TINY_SEARCH, *extra]


def retrain_argv(world: World, tmp: Path, *extra: str) -> list[str]:
    return ["retrain", f"search_dir={world.search}", f"out_dir={tmp / 'out'}", *TINY_RECIPE, *extra]


def demo_argv(world: World, tmp: Path, *extra: str) -> list[str]:
    return ["demo", f"out_dir={tmp / 'out'}", *extra]


COMMANDS = {  # command: (argv builder, an int key, a section, a nested float key); extra arguments come last, so
    # that the tiny settings the builders add cannot override the bad one
    "train-supernet": (train_argv, "seed", "data", "optim.lr"),
    "search": (search_argv, "seed", "latency", "latency.min_time_s"),
    "retrain": (retrain_argv, "recipe.seed", "recipe", "recipe.optim.lr"),
    "demo": (demo_argv, "supernet.seed", "supernet", "supernet.optim.lr"),
}
FILE_COMMANDS = ("train-supernet", "search", "retrain")  # the ones that take --config FILE


def config_file_cases() -> list[Case]:
    """Config files that cannot be read or do not hold a settings mapping, for each command taking --config."""
    def with_file(command: str, content: str | bytes | None, suffix: str = "bad.yaml") -> Callable:
        build = COMMANDS[command][0]

        def argv(world: World, tmp: Path) -> list[str]:
            path = tmp / suffix
            if content is not None:
                write(path, content)
            return build(world, tmp, "--config", str(path))
        return argv

    cases = []
    for command in FILE_COMMANDS:
        _, int_key, section, float_key = COMMANDS[command]
        top, _, leaf = float_key.rpartition(".")
        files = [
            ("missing", None, r"bad\.yaml.*(does not exist|No such file)"),
            ("not utf-8", b"seed: 1\n\xff\xfe\n", r"bad\.yaml.*UTF-8"),
            ("yaml syntax", "seed: [1,\n", r"bad\.yaml.*(line \d+|YAML)"),
            ("tab indent", "a:\n\tb: 1\n", r"bad\.yaml.*(line \d+|YAML)"),
            ("a list", "- 1\n- 2\n", r"bad\.yaml.*(mapping|expected)"),
            ("a scalar", "5\n", r"bad\.yaml.*(mapping|expected)"),
            ("empty", "", r"bad\.yaml.*(empty|no settings)"),
            ("comments only", "# nothing here\n", r"bad\.yaml.*(empty|no settings)"),
            ("duplicate key", "out_dir: a\nout_dir: b\n", r"key 'out_dir' appears twice"),
            ("unknown key", "sed: 1\n", r"unknown key 'sed'; allowed keys"),
            ("unknown nested key", f"{top.split('.')[0]}: {{bogus_key: 1}}\n", r"bogus_key"),
            ("section is a number", f"{section}: 5\n", rf"{section} is a value, not a section"),
            ("wrong kind", nested_yaml(int_key, "abc"), r"abc.*expected"),
            ("float not finite", nested_yaml(float_key, ".nan"), rf"{leaf}.*(finite|expected)"),
        ]
        cases += [Case(f"{command} --config {name}", with_file(command, content), expected)
                  for name, content, expected in files]
        cases.append(Case(f"{command} --config a folder", lambda world, tmp, build=COMMANDS[command][0]:
                          build(world, tmp, "--config", str(tmp)), r"is a folder, not a file"))
    return cases


def nested_yaml(dotted: str, value: str) -> str:
    """`a.b.c` = value as nested YAML text."""
    *parents, leaf = dotted.split(".")
    text, indent = "", ""
    for key in parents:
        text += f"{indent}{key}:\n"
        indent += "  "
    return f"{text}{indent}{leaf}: {value}\n"


def override_cases() -> list[Case]:
    """KEY=VALUE overrides that are not one, name no key, or carry a value the key refuses."""
    cases = []
    for command, (build, int_key, section, float_key) in COMMANDS.items():
        overrides = [
            ("no equals sign", int_key, rf"{re.escape(int_key)}.*KEY=VALUE"),
            ("empty key", "=5", r"'=5'.*(key|KEY=VALUE)"),
            ("unknown key", "bogus_key=1", r"unknown key 'bogus_key'; allowed keys"),
            ("unknown nested key", f"{section}.bogus_key=1", r"bogus_key"),
            ("section set to a number", f"{section}=5", rf"{section} = 5.*expected a mapping"),
            ("key under a number", f"{int_key}.sub=1", rf"{re.escape(int_key)}"),
            ("yaml error", f"{int_key}=[1,", r"not valid YAML"),
            ("int given text", f"{int_key}=abc", r"abc.*expected"),
            ("int given a fraction", f"{int_key}=1.5", r"1\.5.*expected"),
            ("float not finite", f"{float_key}=.nan", r"nan.*finite"),
            ("float overflowing", f"{float_key}=1e400", r"1e400.*finite"),
        ]
        cases += [Case(f"{command} override {name}", lambda world, tmp, b=build, o=override: b(world, tmp, o),
                       expected) for name, override, expected in overrides]
    return cases


def flag_cases() -> list[Case]:
    """Bad flags of the commands that take flags, not configs."""
    def fixed(*argv: str) -> Callable:
        return lambda world, tmp: [a.replace("TMP", str(tmp)) for a in argv]

    out = ["--out", "TMP/survey.csv"]
    rows = [
        ("space --sample -1", ["space", "--sample", "-1"], r"--sample.*'-1'.*expected"),
        ("space --sample text", ["space", "--sample", "many"], r"--sample.*'many'.*expected"),
        ("space --seed -1", ["space", "--seed", "-1"], r"--seed.*expected"),
        ("space --num-classes 0", ["space", "--num-classes", "0"], r"--num-classes.*expected a positive"),
        ("space --resolution 0x5", ["space", "--resolution", "0x5"], r"0x5.*positive"),
        ("space --resolution text", ["space", "--resolution", "big"], r"'big'.*expected HEIGHTxWIDTH"),
        ("space --resolution one number", ["space", "--resolution", "360"], r"'360'.*expected HEIGHTxWIDTH"),
        ("space unknown flag", ["space", "--samples", "3"], r"unrecognized arguments: --samples"),
        ("no command", [], r"required: command|the following arguments are required"),
        ("unknown command", ["serch"], r"invalid choice: 'serch'"),
        ("--threads 0", ["--threads", "0", "space"], r"--threads.*'0'.*expected"),
        ("--plugin missing file", ["--plugin", "TMP/mine.py", "space"], r"--plugin '.*mine\.py': no such file"),
        ("--plugin missing module", ["--plugin", "no_such_module_here", "space"],
         r"--plugin 'no_such_module_here': no module of that name"),
        ("latency --n -3", ["latency", "--n", "-3", *out], r"--n.*'-3'.*expected"),
        ("latency --n text", ["latency", "--n", "ten", *out], r"--n.*'ten'.*expected"),
        ("latency --min-time -1", ["latency", "--min-time", "-1", *out], r"--min-time.*expected seconds"),
        ("latency --min-time nan", ["latency", "--min-time", "nan", *out], r"--min-time.*finite"),
        ("latency --min-time inf", ["latency", "--min-time", "inf", *out], r"--min-time.*finite"),
        ("latency --batch 0", ["latency", "--batch", "0", *out], r"--batch.*expected a positive"),
        ("latency --threads 0", ["latency", "--threads", "0", *out], r"--threads.*expected a positive"),
        ("latency --num-classes 0", ["latency", "--num-classes", "0", *out], r"--num-classes.*expected"),
        ("latency --resolution 1x", ["latency", "--resolution", "1x", *out], r"'1x'.*expected HEIGHTxWIDTH"),
        ("latency --dtype float8", ["latency", "--dtype", "float8", *out], r"dtype = 'float8', expected one of"),
        ("latency --mode turbo", ["latency", "--mode", "turbo", *out], r"mode = 'turbo', expected one of"),
        ("latency --device gpu", ["latency", "--device", "gpu", *out], r"device = 'gpu': expected 'cpu', 'cuda'"),
        ("latency --device cuda:x", ["latency", "--device", "cuda:x", *out], r"cuda:x.*expected"),
        ("latency cuda_graph on a cpu", ["latency", "--mode", "cuda_graph", *out], r"cuda_graph.*needs a CUDA device"),
        ("latency without --out", ["latency"], r"the following arguments are required: --out"),
        ("latency --out a folder", ["latency", "--n", "0", "--out", "TMP"], r"(TMP|survey|directory|folder)"),
        ("plot unknown kind", ["plot", "paretto", "x.csv", "--out", "TMP/f"], r"invalid choice: 'paretto'"),
        ("plot without --out", ["plot", "pareto", "x.csv"], r"the following arguments are required: --out"),
        ("plot pareto two tables", ["plot", "pareto", "a.csv", "b.csv", "--out", "TMP/f"], r"one CSV file, got 2"),
        ("plot --ref-point text", ["plot", "fronts", "a.csv", "--ref-point", "x", "--out", "TMP/f"],
         r"--ref-point.*'x'"),
    ]
    return [Case(name, fixed(*argv), expected) for name, argv, expected in rows]


def plot_file_cases() -> list[Case]:
    """Figures asked of files that are missing, empty, garbage or of the wrong kind."""
    cases = []
    for kind, file in (("pareto", "retrained.csv"), ("scratch", "retrained.csv"), ("predictions", "predictions.csv"),
                       ("fronts", "front.csv"), ("hypervolume", "archive.csv")):
        for name, content, expected in (
            ("missing", None, rf"{file}.*(does not exist|No such file)"),
            ("empty", "", rf"{file}.*(empty|no rows|no columns|holds no)"),
            ("garbage", b"\x00\x01\x02\xff\xfe", rf"{file}.*(UTF-8|not a CSV|expected)"),
            ("wrong columns", "a,b\n1,2\n", rf"{file}.*(column|expected)"),
        ):
            def argv(world: World, tmp: Path, kind=kind, file=file, content=content) -> list[str]:
                path = tmp / "run" / file
                if content is not None:
                    write(path, content)
                return ["plot", kind, str(path), "--out", str(tmp / "figure")]
            cases.append(Case(f"plot {kind} {name}", argv, expected))
    cases += [
        Case("plot pareto --ref-point", lambda world, tmp: ["plot", "pareto", str(world.search / "front.csv"),
                                                            "--ref-point", "1", "1", "--out", str(tmp / "f")],
             r"no reference point"),
        Case("plot hypervolume --ref-point of 3", lambda world, tmp: [
            "plot", "hypervolume", str(world.search / "archive.csv"), "--ref-point", "1", "2", "3",
            "--out", str(tmp / "f")], r"(ref|reference).*(3|length|2 objectives|expected)"),
        Case("plot hypervolume --ref-point nan", lambda world, tmp: [
            "plot", "hypervolume", str(world.search / "archive.csv"), "--ref-point", "nan", "1",
            "--out", str(tmp / "f")], r"(ref|reference).*(nan|finite)"),
        Case("plot fronts one label twice", lambda world, tmp: [
            "plot", "fronts", f"a={world.search / 'front.csv'}", f"a={world.search / 'archive.csv'}",
            "--out", str(tmp / "f")], r"label 'a' names both"),
    ]
    return cases


def changed(tensor: torch.Tensor, index: int, new: Callable[[torch.Tensor], float]) -> torch.Tensor:
    """A copy of `tensor` with its element `index` (in flat order) replaced by new(element)."""
    flat = tensor.flatten().clone()
    flat[index] = new(flat[index])
    return flat.reshape(tensor.shape)


def checkpoint_cases() -> list[Case]:
    """Checkpoints a search or a resumed training is pointed at that are missing, not a checkpoint, cut short,
    damaged or of another kind."""
    def search_on(make: Callable[[World, Path], Path]) -> Callable:
        def argv(world: World, tmp: Path) -> list[str]:
            return ["search", f"checkpoint={make(world, tmp)}", f"out_dir={tmp / 'out'}", *TINY_SEARCH]
        return argv

    def resume_on(make: Callable[[World, Path], Path]) -> Callable:
        def argv(world: World, tmp: Path) -> list[str]:
            folder = copy_of(world.supernet, tmp)
            shutil.copyfile(make(world, tmp), folder / "checkpoint.pt")
            return ["train-supernet", "--resume", f"out_dir={folder}", f"model.space={TINY_SPACE}",
                    *TINY_TRAIN[:-4], "train.iterations=4", *TINY_TRAIN[-3:]]
        return argv

    def truncated(world: World, tmp: Path) -> Path:
        data = world.checkpoint.read_bytes()
        return write(tmp / "cut.pt", data[: len(data) // 2])

    def garbage(world: World, tmp: Path) -> Path:
        return write(tmp / "garbage.pt", b"not a checkpoint at all\n" * 10)

    def empty(world: World, tmp: Path) -> Path:
        return write(tmp / "empty.pt", b"")

    def a_tensor(world: World, tmp: Path) -> Path:
        torch.save(torch.zeros(3), tmp / "tensor.pt")
        return tmp / "tensor.pt"

    def flipped(world: World, tmp: Path) -> Path:
        state = torch.load(world.checkpoint, weights_only=False)
        name = next(k for k, v in state["model"].items() if v.dtype.is_floating_point and v.numel() > 8)
        state["model"][name] = changed(state["model"][name], 3, lambda v: v + 353.0)
        torch.save(state, tmp / "flipped.pt")
        return tmp / "flipped.pt"

    def nan_weights(world: World, tmp: Path) -> Path:
        state = torch.load(world.checkpoint, weights_only=False)
        name = next(k for k, v in state["model"].items() if v.dtype.is_floating_point and v.numel() > 8)
        state["model"][name] = changed(state["model"][name], 0, lambda v: float("nan"))
        torch.save(state, tmp / "nan.pt")
        return tmp / "nan.pt"

    makers = {"cut in half": (truncated, r"cut\.pt"), "garbage": (garbage, r"garbage\.pt"),
              "empty": (empty, r"empty\.pt"), "a bare tensor": (a_tensor, r"tensor\.pt"),
              "a weight changed": (flipped, r"flipped\.pt.*(checksum|changed|damaged)"),
              "NaN weights": (nan_weights, r"nan\.pt.*(NaN|non-finite|finite|checksum)")}
    cases = [Case(f"search checkpoint {name}", search_on(make), expected)
             for name, (make, expected) in makers.items()]
    cases += [Case(f"train-supernet --resume checkpoint {name}", resume_on(make),
                   r"checkpoint\.pt" + expected.partition(r"\.pt")[2])
              for name, (make, expected) in makers.items()]
    cases += [
        Case("search checkpoint missing", search_on(lambda world, tmp: tmp / "nowhere.pt"),
             r"nowhere\.pt.*(does not exist|No such file)"),
        Case("search checkpoint a folder", search_on(lambda world, tmp: tmp), r"is a folder, not a checkpoint"),
        Case("train-supernet --resume another space", lambda world, tmp: [
            "train-supernet", "--resume", f"out_dir={copy_of(world.supernet, tmp)}", *TINY_TRAIN],
            r"model\.space"),
    ]
    return cases


def run_folder_cases() -> list[Case]:
    """A finished search's folder damaged afterwards, then resumed by `moseg search` or read by `moseg retrain`."""
    def resume_search(name: str, edit: Callable[[bytes], bytes]) -> Callable:
        def argv(world: World, tmp: Path) -> list[str]:
            folder = edited(world.search, tmp, name, edit)
            return ["search", f"checkpoint={world.checkpoint}", f"out_dir={folder}", *TINY_SEARCH]
        return argv

    def retrain_from(name: str, edit: Callable[[bytes], bytes] | None) -> Callable:
        def argv(world: World, tmp: Path) -> list[str]:
            folder = copy_of(world.search, tmp)
            if edit is None:
                (folder / name).unlink()
            else:
                write(folder / name, edit((folder / name).read_bytes()))
            return ["retrain", f"search_dir={folder}", f"out_dir={tmp / 'out'}", *TINY_RECIPE]
        return argv

    def half(data: bytes) -> bytes:
        return data[: len(data) // 2]

    def replace_line(number: int, new: Callable[[str], str]) -> Callable[[bytes], bytes]:
        def edit(data: bytes) -> bytes:
            lines = data.decode().splitlines(keepends=True)
            lines[number] = new(lines[number])
            return "".join(lines).encode()
        return edit

    def field(index: int, value: str) -> Callable[[str], str]:
        def new(line: str) -> str:
            parts = line.rstrip("\n").split(",")
            parts[index] = value
            return ",".join(parts) + "\n"
        return new

    return [
        Case("search resume config.json cut", resume_search("config.json", half), r"config\.json is damaged"),
        Case("search resume config.json a list", resume_search("config.json", lambda d: b"[]"),
             r"config\.json is damaged"),
        Case("search resume config.json not utf-8", resume_search("config.json", lambda d: b"\xff" + d),
             r"config\.json"),
        Case("search resume config.json another budget", resume_search(
            "config.json", lambda d: d.replace(b'"seed": 0', b'"seed": 5')), r"seed"),
        Case("search resume stats.csv bad number", resume_search("stats.csv", replace_line(1, field(0, "one"))),
             r"stats\.csv, line 2: iteration = 'one', expected an integer"),
        Case("search resume stats.csv extra field", resume_search("stats.csv", lambda d: d + b"1,2,3\n"),
             r"stats\.csv, line \d+: 3 fields where the header has"),
        Case("search resume stats.csv no header", resume_search("stats.csv", lambda d: d.split(b"\n", 1)[1]),
             r"stats\.csv"),
        Case("search resume archive.csv gene text", resume_search("archive.csv", replace_line(2, field(0, "x"))),
             r"archive\.csv, line 3"),
        Case("search resume archive.csv objective text", resume_search(
            "archive.csv", replace_line(2, lambda line: line.replace('"[0.', '"[zero.', 1))),
             r"archive\.csv, line 3, column 'objectives'"),
        Case("search resume archive.csv fields missing", resume_search(
            "archive.csv", replace_line(2, lambda line: ",".join(line.split(",")[:3]) + "\n")),
             r"archive\.csv, line 3"),
        Case("search resume archive.csv binary", resume_search("archive.csv", lambda d: b"\x00\xff" * 40),
             r"archive\.csv"),
        Case("retrain front.csv missing", retrain_from("front.csv", None), r"front\.csv does not exist"),
        Case("retrain front.csv empty", retrain_from("front.csv", lambda d: b""), r"front\.csv"),
        Case("retrain front.csv header only", retrain_from("front.csv", lambda d: d.split(b"\n", 1)[0] + b"\n"),
             r"front\.csv holds no network"),
        Case("retrain front.csv wrong columns", retrain_from("front.csv", lambda d: b"a,b\n1,2\n"),
             r"front\.csv has columns.*expected"),
        Case("retrain front.csv NaN objective", retrain_from("front.csv", replace_line(1, field(-2, "nan"))),
             r"front\.csv, line 2.*expected"),
        Case("retrain front.csv genes cut", retrain_from("front.csv", replace_line(
            1, lambda line: line.replace(" ", "", 3))), r"front\.csv, line 2"),
        Case("retrain search.yaml missing", retrain_from("search.yaml", None), r"search\.yaml"),
        Case("retrain search.yaml damaged", retrain_from("search.yaml", lambda d: b"budget: [1,\n"),
             r"search\.yaml"),
        Case("retrain search_dir missing", lambda world, tmp: [
            "retrain", f"search_dir={tmp / 'nowhere'}", f"out_dir={tmp / 'out'}", *TINY_RECIPE], r"nowhere"),
        Case("retrain select unknown", lambda world, tmp: retrain_argv(world, tmp, "select=best"),
             r"select = 'best'.*expected one of"),
        Case("retrain baseline unknown", lambda world, tmp: retrain_argv(world, tmp, "baselines=[resnet9000]"),
             r"resnet9000"),
        Case("train-supernet model.arch missing file", lambda world, tmp: train_argv(
            world, tmp, f"model.arch={tmp / 'arch.json'}"), r"arch\.json"),
        Case("train-supernet model.arch bad json", lambda world, tmp: train_argv(
            world, tmp, f"model.arch={write(tmp / 'arch.json', '{not json')}"), r"arch\.json"),
        Case("train-supernet model.arch not an arch", lambda world, tmp: train_argv(
            world, tmp, "model.arch=" + str(write(tmp / "arch.json", '{"branches": 3}'))), r"(arch|branches)"),
        Case("train-supernet camvid root missing", lambda world, tmp: [
            "train-supernet", "data.dataset=camvid", f"data.root={tmp / 'camvid'}", f"out_dir={tmp / 'out'}",
            "device=cpu"], r"camvid.*does not exist; expected the layout"),
        Case("train-supernet camvid label missing", lambda world, tmp: [
            "train-supernet", "data.dataset=camvid", f"data.root={camvid_without_a_label(tmp)}",
            f"out_dir={tmp / 'out'}", "device=cpu"], r"(label|trainannot|0001)"),
        Case("train-supernet cuda without a gpu", lambda world, tmp: train_argv(world, tmp, "device=cuda"),
             r"cuda.*(GPU|available)"),
        Case("train-supernet dataset option typo", lambda world, tmp: train_argv(
            world, tmp, "data.options={sise: [48, 64]}"), r"sise"),
        Case("train-supernet unknown split", lambda world, tmp: train_argv(world, tmp, "data.val_split=valid"),
             r"valid"),
        Case("train-supernet training on test", lambda world, tmp: train_argv(world, tmp, "data.train_split=test"),
             r"test split is only read"),
        Case("search on test", lambda world, tmp: search_argv(world, tmp, "split=test"), r"split = 'test'"),
        Case("search evaluator option misspelt", lambda world, tmp: search_argv(
            world, tmp, "evaluator.options={workrs: 2}"),
            r"evaluator 'serial' has no option\(s\) \['workrs'\]; it takes none"),
    ]


def camvid_without_a_label(tmp: Path) -> Path:
    """A CamVid folder in the SegNet layout whose one training image has no label file."""
    from PIL import Image

    root = tmp / "camvid"
    for split in ("train", "val", "test"):
        (root / split).mkdir(parents=True)
        (root / f"{split}annot").mkdir()
        Image.new("RGB", (64, 48)).save(root / split / "0001TP_000001.png")
        if split != "train":
            Image.new("L", (64, 48)).save(root / f"{split}annot" / "0001TP_000001.png")
    return root


if torch.cuda.is_available():
    pytest.skip("the battery's device cases assume a machine without a GPU", allow_module_level=True)

CASES = [*config_file_cases(), *override_cases(), *flag_cases(), *plot_file_cases(), *checkpoint_cases(),
         *run_folder_cases()]


def test_the_battery_is_large_and_its_names_unique():
    assert len(CASES) >= 150
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_bad_input_is_one_clear_line_with_exit_2(case, world, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        status = main(case.argv(world, tmp_path))
    except SystemExit as exit_info:  # argparse's usage errors
        status = exit_info.code
    err = capsys.readouterr().err
    assert status == 2, f"{case.name}: exit {status}, stderr {err[-400:]!r}"
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("moseg"), last
    assert re.search(case.expected, last), f"{case.name}: {last!r} does not match {case.expected!r}"
