"""The `moseg` command line. Subcommands grow with the toolkit; each is a thin wrapper over the Python API."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
