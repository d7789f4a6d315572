"""What makes supernet training learn on CamVid at CPU scale: learning curves of recipe variants, side by side.

Every variant starts from the supernet section of `experiments/configs/camvid_cpu.yaml` (CamVid-11 read at
`data.options.scale`, 180x240 crops, batch 8, sandwich rule with max + min + 1 sampled arch) and changes one or
two keys: the resolution protocol (the stored 480x360 against half of it), the class weights (median frequency,
its square root, none), a ramp of the in-place distillation, the learning rate. Each is trained for
`--iterations` steps with the same seed and scored every `--eval-every` steps on search_val: the max and the min
arch, BatchNorm recalibrated on a fixed search_train subset. LR-ASPP MobileNetV3-Small trained alone under the
same recipe is the yardstick. Then the final supernet of `--calib-variant` is scored with 8 to 128 calibration
images, to see how many BatchNorm needs.

Outputs (`--results`): `recipe_curves.csv` (variant, iteration, arch, search_val mIoU and pixel accuracy),
`recipe_loss.csv` (the max arch's training loss), `recipe_calibration.csv` and the figure `recipe_curves.png`/
`.pdf`; the tables are printed. Training resumes per variant from `--out` (rerun the same command).

    python benchmarks/camvid_cpu_recipe.py --data ../shared/data/camvid --iterations 400 --eval-every 100
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import matplotlib
import pandas as pd
import torch
from markdown_table import markdown
from matplotlib.figure import Figure

from moseg.jobs.pipeline import load_pipeline_config
from moseg.oneshot.candidates import CandidateEvaluator
from moseg.report.plot import STYLE, save_figure, series_style
from moseg.space import SearchSpace
from moseg.train import Trainer
from moseg.train.config import TrainConfig, check_train_config
from moseg.train.distributed import shutdown
from moseg.util.config import load_config

CONFIG = "experiments/configs/camvid_cpu.yaml"
TODAY = ["loss.class_weight_power=1.0", "loss.distill_warmup_iters=0", "optim.lr=0.05"]  # the recipe before
VARIANTS: dict[str, list[str]] = {
    "480x360, mf weights (before)": ["data.options.scale=1.0", *TODAY],
    "240x180, mf weights": TODAY,
    "240x180, sqrt mf weights": [*TODAY, "loss.class_weight_power=0.5"],
    "240x180, no weights": [*TODAY, "loss.class_weights=none"],
    "240x180, sqrt mf, distill ramp": [*TODAY, "loss.class_weight_power=0.5", "loss.distill_warmup_iters=RAMP"],
    "240x180, sqrt mf, lr 0.1": [*TODAY, "loss.class_weight_power=0.5", "optim.lr=0.1"],
    "LR-ASPP-Small alone, sqrt mf": [*TODAY, "loss.class_weight_power=0.5", "model.baseline=lraspp_mobilenetv3_small"],
    # the space's extremes trained alone under the supernet's final recipe: what weight sharing costs each of them
    "max arch alone, final recipe": ["model.arch=MAX_ARCH", "optim.warmup_iters=100"],
    "min arch alone, final recipe": ["model.arch=MIN_ARCH", "optim.warmup_iters=100"],
}
CALIB_IMAGES = (8, 16, 32, 64, 128)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/data/camvid", help="CamVid root (SegNet layout)")
    p.add_argument("--iterations", type=int, default=400)
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--variants", nargs="*", default=list(VARIANTS), help="names of VARIANTS to run")
    p.add_argument("--calib-variant", default="240x180, sqrt mf weights",
                   help="whose final supernet is scored with 8 to 128 calibration images ('' to skip)")
    p.add_argument("--out", default="runs/camvid_cpu_recipe")
    p.add_argument("--results", default="benchmarks/results/camvid_cpu")
    return p.parse_args()


def variant_config(name: str, args: argparse.Namespace) -> TrainConfig:
    """The supernet recipe of camvid_cpu.yaml with the variant's keys changed, shortened to the study's length
    (warm-up a tenth of it, the distillation ramp half of it)."""
    base = load_pipeline_config(CONFIG).supernet
    slug = "".join(c if c.isalnum() else "_" for c in name).strip("_")
    overrides = [o.replace("RAMP", str(args.iterations // 2)) for o in VARIANTS[name]]
    for placeholder, extreme in (("MAX_ARCH", "max"), ("MIN_ARCH", "min")):
        if any(placeholder in o for o in overrides):
            path = str(standalone_arch_file(extreme, Path(args.out) / slug))
            overrides = [o.replace(placeholder, path) for o in overrides]
    return check_train_config(load_config(TrainConfig, None, [
        f"data.root={args.data}", f"out_dir={Path(args.out) / slug}", f"train.iterations={args.iterations}",
        f"train.eval_every={args.eval_every}", f"train.checkpoint_every={args.eval_every}",
        f"optim.warmup_iters={args.iterations // 10}", "train.log_every=10", "train.progress=false",
        "eval.calib_images=64",  # the study's scoring, whatever the config chose since
        *overrides], defaults=base))


def standalone_arch_file(extreme: str, folder: Path) -> Path:
    """The default space's max or min arch as a JSON file, for training it alone as `model.arch`."""
    space = SearchSpace()
    arch = space.max_arch() if extreme == "max" else space.min_arch()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{extreme}_arch.json"
    path.write_text(json.dumps(arch.to_dict()))
    return path


def train_variant(name: str, config: TrainConfig) -> Trainer:
    """Train (or resume, or find finished) one variant; its trainer, whose eval.csv holds the curve."""
    trainer = Trainer(config, resume=True)
    try:
        if trainer.start_step < config.train.iterations:
            started = time.perf_counter()
            trainer.run()
            print(f"{name}: trained in {time.perf_counter() - started:.0f} s", flush=True)
    finally:
        shutdown(trainer.process)
    return trainer


def calibration_table(trainer: Trainer, name: str) -> pd.DataFrame:
    """search_val mIoU of the max and min arch of a trained supernet after BN recalibration on n images."""
    rows = []
    for n in CALIB_IMAGES:
        evaluator = CandidateEvaluator(trainer.net, trainer.evaluation_data(calib_images=n))
        for arch_name, arch in (("max", trainer.max_arch), ("min", trainer.min_arch)):
            score = evaluator.score(arch)
            rows.append({"variant": name, "calib_images": n, "arch": arch_name, "miou": score.miou,
                         "seconds": round(score.seconds, 2)})
    return pd.DataFrame(rows)


def curves_figure(curves: pd.DataFrame, losses: pd.DataFrame, out: Path) -> list[Path]:
    """Max-arch training loss, max-arch and min-arch search_val mIoU against iterations, one style per variant."""
    with matplotlib.rc_context({**STYLE, "figure.figsize": (7.2, 2.8)}):
        fig = Figure()
        axes = fig.subplots(1, 3)
        for i, (name, group) in enumerate(curves.groupby("variant", sort=False)):
            style = series_style(i)
            loss = losses[losses["variant"] == name]
            axes[0].plot(loss["iteration"], loss["loss_max"], color=style["color"], linestyle=style["linestyle"],
                         label=name)
            for ax, archs in zip(axes[1:], (("max", "model"), ("min",)), strict=True):
                rows = group[group["arch"].isin(archs)]
                ax.plot(rows["iteration"], 100 * rows["miou"], **style, label=name)
        axes[0].set(xlabel="iteration", ylabel="training loss", title="max arch, training loss (10-step mean)")
        axes[1].set(xlabel="iteration", ylabel="search_val mIoU (%)", title="max arch (LR-ASPP: the network)")
        axes[2].set(xlabel="iteration", ylabel="search_val mIoU (%)", title="min arch")
        handles, labels = axes[1].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=3)
        return save_figure(fig, out)


def main() -> None:
    args = parse_args()
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    curves, losses, trainers = [], [], {}
    for name in args.variants:
        config = variant_config(name, args)
        trainers[name] = train_variant(name, config)
        folder = Path(config.out_dir)
        curves.append(pd.read_csv(folder / "eval.csv").assign(variant=name))
        losses.append(pd.read_csv(folder / "log.csv").assign(variant=name))
    curves_table = pd.concat(curves, ignore_index=True)[["variant", "iteration", "arch", "split", "miou", "pixel_acc"]]
    loss_table = pd.concat(losses, ignore_index=True)[["variant", "iteration", "loss_max", "loss_min", "lr",
                                                        "images_per_s", "elapsed_s"]]
    curves_table.to_csv(results / "recipe_curves.csv", index=False)
    loss_table.to_csv(results / "recipe_loss.csv", index=False)
    curves_figure(curves_table, loss_table, results / "recipe_curves")
    wide = curves_table.assign(miou=(100 * curves_table["miou"]).round(2)).pivot_table(
        index=["variant", "arch"], columns="iteration", values="miou", sort=False)
    print(f"\nsearch_val mIoU (%) by iteration ({args.iterations} iterations, seed 0)\n")
    print(markdown(wide, "variant, arch"))
    if args.calib_variant and args.calib_variant in trainers:
        calib = calibration_table(trainers[args.calib_variant], args.calib_variant)
        calib.to_csv(results / "recipe_calibration.csv", index=False)
        print(f"\nBN calibration images, final supernet of '{args.calib_variant}': search_val mIoU (%)\n")
        print(markdown(calib.assign(miou=(100 * calib["miou"]).round(2)).pivot_table(
            index="arch", columns="calib_images", values="miou"), "arch \\ calibration images"))


if __name__ == "__main__":
    main()
