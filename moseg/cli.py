"""The `moseg` command line. Subcommands grow with the toolkit; each is a thin wrapper over the Python API."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence

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


def cmd_train_supernet(args: argparse.Namespace) -> int:
    """Train a supernet (or, with model.arch set, one arch from scratch) as the config says."""
    from moseg.config import ConfigError
    from moseg.train import load_train_config, train

    try:  # the trainer checks the rest of the config (batch split, amp, space, resume) before any work
        config = load_train_config(args.config, args.overrides)
        result = train(config, resume=args.resume)
    except (ConfigError, FileExistsError) as err:
        print(f"moseg train-supernet: {err}", file=sys.stderr)
        return 2
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun, one process reports
        return 0
    for name, scores in result.items():
        print(f"{name}: mIoU {100 * scores['miou']:.2f} on {config.data.val_split}")
    return 0


def cmd_latency(args: argparse.Namespace) -> int:
    """Measure min, max and N sampled archs end to end, appending to a resumable CSV."""
    from moseg.latency_archive import measure_archs, survey_archs

    space = SearchSpace()
    try:
        rows = measure_archs(
            space, survey_archs(space, args.n, args.seed), args.out, num_classes=args.num_classes,
            resolution=args.resolution, device=args.device, dtype=args.dtype, mode=args.mode, batch=args.batch,
            threads=args.threads, final_upsample=not args.no_final_upsample, min_time_s=args.min_time)
    except ValueError as err:
        print(f"moseg latency: {err}", file=sys.stderr)
        return 2
    failed = sum(r["status"] == "failed" for r in rows)
    print(f"{len(rows)} archs measured ({failed} failed) and appended to {args.out}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    """Search a trained supernet for the mIoU / latency front (resumes from the output folder)."""
    from moseg.search_job import load_search_config, search_supernet

    try:
        result = search_supernet(load_search_config(args.config, args.overrides))
    except ValueError as err:  # ConfigError included
        print(f"moseg search: {err}", file=sys.stderr)
        return 2
    print(f"{len(result.X)} evaluations ({len(result.failed)} failed); {len(result.front_X)} networks on the front; "
          f"outputs in {result.out_dir}")
    for f in sorted(result.front_F.tolist(), key=lambda f: f[1]):
        print(f"  mIoU {100 * (1 - f[0]):.2f}  latency objective {f[1]:.4g}")
    return 0


def add_config_arguments(command: argparse.ArgumentParser, run: Callable[[argparse.Namespace], int],
                         default: str) -> None:
    """The `--config FILE [KEY=VALUE ...]` arguments of a command driven by a typed config."""
    command.add_argument("--config", help=f"YAML file of settings (default: {default})")
    command.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="settings overriding the config file")
    command.set_defaults(func=run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="moseg", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    space = sub.add_parser("space", help="summarise the search space and sample networks from it")
    space.add_argument("--sample", type=int, default=5, help="number of sampled networks to list (default 5)")
    space.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    space.add_argument("--num-classes", type=int, default=11, help="classes of the head (default 11, CamVid)")
    space.add_argument(
        "--resolution", type=resolution, default=(360, 480), help="input HxW for FLOPs (default 360x480)"
    )
    space.add_argument("--json", action="store_true", help="also print each listed arch as a JSON line")
    space.set_defaults(func=cmd_space)
    train = sub.add_parser(
        "train-supernet", help="train the weight-sharing supernet (or one arch standalone: model.arch=FILE)",
        description="Keys and defaults: moseg/train/config.py. Example: moseg train-supernet --config "
                    "experiments/configs/camvid_supernet.yaml data.root=../shared/data/camvid train.iterations=2000")
    add_config_arguments(train, cmd_train_supernet, "the built-in synthetic recipe")
    train.add_argument("--resume", action="store_true", help="continue from OUT_DIR/checkpoint.pt if it exists")
    lat = sub.add_parser("latency", help="measure sampled archs end to end into a resumable CSV")
    lat.add_argument("--n", type=int, default=100, help="sampled archs besides min and max (default 100)")
    lat.add_argument("--seed", type=int, default=0)
    lat.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    lat.add_argument("--dtype", default="float32", help="float32, float16 or bfloat16 (default float32)")
    lat.add_argument("--mode", default="eager", help="eager, cuda_graph or compile (default eager)")
    lat.add_argument("--resolution", type=resolution, default=(360, 480), help="input HxW (default 360x480)")
    lat.add_argument("--batch", type=int, default=1)
    lat.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's setting)")
    lat.add_argument("--num-classes", type=int, default=11)
    lat.add_argument("--no-final-upsample", action="store_true", help="time logits at 1/8 resolution")
    lat.add_argument("--min-time", type=float, default=1.0, help="seconds of timed calls per arch (default 1)")
    lat.add_argument("--out", required=True, help="CSV file; rows are appended, measured archs skipped")
    lat.set_defaults(func=cmd_latency)
    search = sub.add_parser(
        "search", help="surrogate-assisted NSGA-II on a trained supernet: mIoU vs latency front",
        description="Keys and defaults: moseg/search_job.py. Example: moseg search checkpoint=runs/supernet/"
                    "checkpoint.pt budget=200 latency.kind=table latency.device=cuda latency.dtype=float16")
    add_config_arguments(search, cmd_search, "the built-in defaults")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
