"""The `moseg` command line. Subcommands grow with the toolkit; each is a thin wrapper over the Python API."""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from moseg.core.plugins import PluginNotFoundError, load_plugins
from moseg.space import SearchSpace, count_flops, count_params


def resolution(text: str) -> tuple[int, int]:
    """Parse 'HxW' (e.g. 360x480) into (height, width)."""
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"resolution {text!r}: expected HEIGHTxWIDTH, e.g. 360x480") from None
    if height < 1 or width < 1:
        raise argparse.ArgumentTypeError(f"resolution {text!r}: height and width must be positive")
    return height, width


def bounded_int(minimum: int, expected: str) -> Callable[[str], int]:
    """An argparse type: an integer >= minimum, else an error saying `expected`."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: expected {expected}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r}: expected {expected}")
        return value
    return parse


positive_int = bounded_int(1, "a positive integer")
non_negative_int = bounded_int(0, "an integer >= 0")


def seconds(text: str) -> float:
    """An argparse type: a finite number of seconds >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected seconds, a number >= 0") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected seconds, a finite number >= 0")
    return value


USER_ERRORS = (ValueError, OSError)  # bad input (a key, a value, a file's contents) and files that cannot be read
# or written; moseg reports these with what was wrong and what was expected. Anything else is an internal error and
# keeps its traceback.


def bad_input_exits_2(command: str) -> Callable[[Callable[[argparse.Namespace], int]], Callable[..., int]]:
    """Decorator of a subcommand: a user error (`USER_ERRORS`) is printed as the one line 'moseg COMMAND: message'
    and the exit status is 2, instead of a traceback; with --debug the traceback is shown."""
    def decorate(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        @functools.wraps(run)
        def wrapped(args: argparse.Namespace) -> int:
            try:
                return run(args)
            except USER_ERRORS as err:
                if getattr(args, "debug", False):
                    raise
                print(f"moseg {command}: {_one_line(err)}", file=sys.stderr)
                return 2
        return wrapped
    return decorate


def _one_line(err: Exception) -> str:
    """The error's message on one line (an OSError without a message gets its class name)."""
    text = " ".join(str(err).split())
    return text or type(err).__name__


@bad_input_exits_2("space")
def cmd_space(args: argparse.Namespace) -> int:
    """Print the default search space, its extremes and a few sampled networks with their cost."""
    space = SearchSpace()
    print(space.summary())
    rows = [("min", space.min_arch()), ("max", space.max_arch())]
    rows += [(f"sample {i}", space.decode(x)) for i, x in enumerate(space.sample(args.sample, args.seed))]
    h, w = args.resolution
    flops_title = f"GFLOPs @{h}x{w}"
    print(f"\n{'arch':<10} {'branches':>8} {'blocks':>6} {'attention':>9} {'params (M)':>11} {flops_title:>16}")
    for name, arch in rows:
        blocks = [b for branch in arch.branches for b in branch.blocks]
        attention = sum(b.op == "attention" for b in blocks)
        params = count_params(arch, args.num_classes) / 1e6
        gflops = count_flops(arch, args.num_classes, (h, w)) / 1e9
        print(f"{name:<10} {len(arch.branches):>8} {len(blocks):>6} {attention:>9} {params:>11.3f} {gflops:>16.3f}")
    if args.json:
        for name, arch in rows:
            print(json.dumps({"name": name, "arch": arch.to_dict()}))
    return 0


@bad_input_exits_2("train-supernet")
def cmd_train_supernet(args: argparse.Namespace) -> int:
    """Train a supernet (or, with model.arch or model.baseline set, one network from scratch) as the config says.
    The trainer checks the rest of the config (batch split, amp, space, resume) before any work."""
    from moseg.train import load_train_config, train

    config = load_train_config(args.config, args.overrides)
    result = train(config, resume=args.resume)
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun, one process reports
        return 0
    for name, scores in result.items():
        print(f"{name}: mIoU {100 * scores['miou']:.2f} on {config.data.val_split}")
    return 0


@bad_input_exits_2("latency")
def cmd_latency(args: argparse.Namespace) -> int:
    """Measure min, max and N sampled archs end to end, appending to a resumable CSV."""
    from moseg.latency.survey import measure_archs, survey_archs

    space = SearchSpace()
    rows = measure_archs(
        space, survey_archs(space, args.n, args.seed), args.out, num_classes=args.num_classes,
        resolution=args.resolution, device=args.device, dtype=args.dtype, mode=args.mode, batch=args.batch,
        threads=args.threads, final_upsample=not args.no_final_upsample, min_time_s=args.min_time)
    failed = sum(r["status"] == "failed" for r in rows)
    print(f"{len(rows)} archs measured ({failed} failed) and appended to {args.out}")
    return 0


@bad_input_exits_2("search")
def cmd_search(args: argparse.Namespace) -> int:
    """Search a trained supernet for the mIoU / latency front (resumes from the output folder)."""
    from moseg.jobs.search import load_search_config, search_supernet

    result = search_supernet(load_search_config(args.config, args.overrides))
    print(f"{len(result.X)} evaluations ({len(result.failed)} failed); {len(result.front_X)} networks on the front; "
          f"outputs in {result.out_dir}")
    for f in sorted(result.front_F.tolist(), key=lambda f: f[1]):
        print(f"  mIoU {100 * (1 - f[0]):.2f}  latency objective {f[1]:.4g}")
    return 0


@bad_input_exits_2("retrain")
def cmd_retrain(args: argparse.Namespace) -> int:
    """Retrain a search's selected networks (and baselines) from scratch; resumes from the output folder."""
    from moseg.jobs.retrain import load_retrain_config, retrain, retrained_report

    print(retrained_report(retrain(load_retrain_config(args.config, args.overrides))))
    return 0


@bad_input_exits_2("demo")
def cmd_demo(args: argparse.Namespace) -> int:
    """The whole pipeline on the built-in synthetic scenes (moseg/jobs/demo.yaml)."""
    from moseg.jobs.demo import run_demo

    run_demo(args.overrides)
    return 0


@bad_input_exits_2("pipeline")
def cmd_pipeline(args: argparse.Namespace) -> int:
    """Supernet, search, retraining and figures as a config file says (each stage resumed or skipped)."""
    from moseg.jobs.pipeline import load_pipeline_config, run_and_report

    run_and_report(load_pipeline_config(args.config, args.overrides))
    return 0


def labelled_tables(items: Sequence[str]) -> dict[str, str]:
    """LABEL=PATH arguments (a bare PATH is labelled by its folder's name) as {label: path}."""
    tables = {}
    for item in items:
        label, sep, path = item.partition("=")
        if not sep:
            label, path = os.path.basename(os.path.dirname(os.path.abspath(item))), item
        if label in tables:
            raise ValueError(f"label {label!r} names both {tables[label]} and {path}; give LABEL=PATH to tell "
                             "them apart")
        tables[label] = path
    return tables


@bad_input_exits_2("plot")
def cmd_plot(args: argparse.Namespace) -> int:
    """Draw one paper figure from CSV outputs (PNG and PDF)."""
    from moseg.report import plot

    single = {"pareto": plot.pareto_figure, "predictions": plot.predictions_figure, "scratch": plot.scratch_figure}
    several = {"fronts": plot.fronts_figure, "hypervolume": plot.hypervolume_figure}
    if args.kind in single:
        if len(args.tables) != 1:
            raise ValueError(f"moseg plot {args.kind} takes one CSV file, got {len(args.tables)}")
        if args.ref_point is not None:
            raise ValueError(f"moseg plot {args.kind} has no reference point; --ref-point is for fronts and "
                             "hypervolume")
        paths = single[args.kind](args.tables[0], args.out)
    else:
        tables = labelled_tables(args.tables)
        ref_point = args.ref_point
        search = Path(next(iter(tables.values()))).parent
        if ref_point is None and args.kind == "hypervolume" and len(tables) == 1 and (search / "config.json").is_file():
            from moseg.search.outputs import search_reference_point

            ref_point = search_reference_point(search)  # the point of the hypervolumes the search printed
        paths = several[args.kind](tables, args.out, ref_point=ref_point)
    print("wrote " + " ".join(str(p) for p in paths))
    return 0


def add_config_arguments(command: argparse.ArgumentParser, run: Callable[[argparse.Namespace], int],
                         default: str) -> None:
    """The `--config FILE [KEY=VALUE ...]` arguments of a command driven by a typed config."""
    command.add_argument("--config", help=f"YAML file of settings (default: {default})")
    command.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="settings overriding the config file")
    command.set_defaults(func=run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="moseg", description=__doc__)
    parser.add_argument("--threads", dest="cpu_threads", type=positive_int, default=None,
                        help="torch CPU threads (default: OMP_NUM_THREADS if set, else 1 for demo and one per "
                             "core for the other commands)")
    parser.add_argument("--debug", action="store_true", help="show the traceback of a user error too")
    parser.add_argument("--plugin", dest="plugins", action="append", default=[], metavar="MODULE_OR_FILE",
                        help="import a module or .py file that registers plug-ins before the command runs "
                             "(repeatable)")
    sub = parser.add_subparsers(dest="command", required=True)
    space = sub.add_parser("space", help="summarise the search space and sample networks from it")
    space.add_argument("--sample", type=non_negative_int, default=5, help="number of sampled networks to list "
                       "(default 5)")
    space.add_argument("--seed", type=non_negative_int, default=0, help="sampling seed (default 0)")
    space.add_argument("--num-classes", type=positive_int, default=11, help="classes of the head (default 11, "
                       "CamVid)")
    space.add_argument(
        "--resolution", type=resolution, default=(360, 480), help="input HxW for FLOPs (default 360x480)"
    )
    space.add_argument("--json", action="store_true", help="also print each listed arch as a JSON line")
    space.set_defaults(func=cmd_space)
    train = sub.add_parser(
        "train-supernet", help="train the weight-sharing supernet (or one network standalone: model.arch=FILE or "
                          "model.baseline=NAME)",
        description="Keys and defaults: moseg/train/config.py. Example: moseg train-supernet --config "
                    "experiments/configs/camvid_supernet.yaml data.root=../shared/data/camvid train.iterations=2000")
    add_config_arguments(train, cmd_train_supernet, "the built-in synthetic recipe")
    train.add_argument("--resume", action="store_true", help="continue from OUT_DIR/checkpoint.pt if it exists")
    lat = sub.add_parser("latency", help="measure sampled archs end to end into a resumable CSV")
    lat.add_argument("--n", type=non_negative_int, default=100, help="sampled archs besides min and max "
                     "(default 100)")
    lat.add_argument("--seed", type=non_negative_int, default=0)
    lat.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    lat.add_argument("--dtype", default="float32", help="float32, float16 or bfloat16 (default float32)")
    lat.add_argument("--mode", default="eager", help="a registered latency backend: eager, cuda_graph, compile or a "
                     "plug-in's (default eager)")
    lat.add_argument("--resolution", type=resolution, default=(360, 480), help="input HxW (default 360x480)")
    lat.add_argument("--batch", type=positive_int, default=1)
    lat.add_argument("--threads", type=positive_int, default=None, help="CPU threads of the measurement (default: "
                     "torch's setting)")
    lat.add_argument("--num-classes", type=positive_int, default=11)
    lat.add_argument("--no-final-upsample", action="store_true", help="time logits at 1/8 resolution")
    lat.add_argument("--min-time", type=seconds, default=1.0, help="seconds of timed calls per arch (default 1)")
    lat.add_argument("--out", required=True, help="CSV file; rows are appended, measured archs skipped")
    lat.set_defaults(func=cmd_latency)
    search = sub.add_parser(
        "search", help="surrogate-assisted NSGA-II on a trained supernet: mIoU vs latency front",
        description="Keys and defaults: moseg/jobs/search.py. Example: moseg search checkpoint=runs/supernet/"
                    "checkpoint.pt budget=200 latency.kind=table latency.device=cuda latency.dtype=float16")
    add_config_arguments(search, cmd_search, "the built-in defaults")
    retrain = sub.add_parser(
        "retrain", help="retrain a search's front (and baselines) from scratch: test mIoU, latency, exports",
        description="Keys and defaults: moseg/jobs/retrain.py. Example: moseg retrain search_dir=runs/search "
                    "select=spaced n_select=5 baselines=[lraspp_mobilenetv3_large] recipe.data.dataset=camvid "
                    "recipe.data.root=../shared/data/camvid")
    add_config_arguments(retrain, cmd_retrain, "the built-in defaults")
    demo = sub.add_parser(
        "demo", help="the whole pipeline on built-in synthetic data in a few minutes on a CPU",
        description="Supernet, search, retraining and figures on synthetic scenes (moseg/jobs/demo.yaml, a pipeline "
                    "config like any other); outputs in runs/demo unless out_dir=DIR is given. Any key can be "
                    "overridden, e.g. search.budget=30.")
    demo.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="settings overriding the demo's")
    # one thread: the demo's small tensors ran faster on 1 thread than on 2 of 2 idle cores, and a busy machine
    # cannot slow it down through threads waiting on one another (benchmarks/RESULTS.md)
    demo.set_defaults(func=cmd_demo, default_threads=1)
    pipeline = sub.add_parser(
        "pipeline", help="supernet, search, retraining and figures from one config file, resumable stage by stage",
        description="Keys and defaults: moseg/jobs/pipeline.py; stages=[search,retrain] runs some of them. Example: "
                    "moseg pipeline --config experiments/configs/camvid_cpu.yaml supernet.data.root=DIR "
                    "search.data_root=DIR retrain.recipe.data.root=DIR")
    add_config_arguments(pipeline, cmd_pipeline, "the built-in defaults")
    plot = sub.add_parser("plot", help="paper figures (PNG and PDF) from the CSV outputs",
                          description="pareto: retrained.csv; predictions: predictions.csv; scratch: retrained.csv; "
                                      "fronts: LABEL=front.csv ...; hypervolume: LABEL=archive.csv ... (a bare PATH "
                                      "is labelled by its folder)")
    plot.add_argument("kind", choices=["pareto", "fronts", "hypervolume", "predictions", "scratch"])
    plot.add_argument("tables", nargs="+", metavar="CSV", help="input file(s)")
    plot.add_argument("--out", required=True, help="output path without suffix (writes .png and .pdf)")
    plot.add_argument("--ref-point", type=float, nargs="+", metavar="R",
                      help="hypervolume reference point of fronts and hypervolume (default: for one search's "
                           "archive.csv, the point that search used; otherwise one derived from all the inputs)")
    plot.set_defaults(func=cmd_plot)
    return parser


def set_cpu_threads(threads: int | None, default: int | None) -> None:
    """torch's CPU threads: `threads` if given, else OMP_NUM_THREADS if set (torch read it at import), else the
    command's `default` (None: torch's own, one per core)."""
    if threads is None and (os.environ.get("OMP_NUM_THREADS") or default is None):
        return
    torch.set_num_threads(threads or default)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        load_plugins(args.plugins)
    except PluginNotFoundError as err:
        if args.debug:
            raise
        print(f"moseg: {_one_line(err)}", file=sys.stderr)
        return 2
    previous = torch.get_num_threads()
    set_cpu_threads(args.cpu_threads, getattr(args, "default_threads", None))
    try:
        return args.func(args)
    finally:
        torch.set_num_threads(previous)  # a caller in the same process keeps its own setting


if __name__ == "__main__":
    sys.exit(main())
