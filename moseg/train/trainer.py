"""The trainer: a weight-sharing supernet with the sandwich rule, or one fixed network (an arch of the search
space or a hand-designed baseline) standalone from scratch.

Supernet step (sandwich rule with in-place distillation): the largest arch learns from the labels and its
detached per-pixel predictions become soft labels; then the smallest arch and `train.random_archs`
hierarchically sampled archs learn from those soft labels (and from the labels, by `loss.distill_alpha`).
Gradients of all archs accumulate (synchronised across processes once, after the last) and one optimiser
step follows. The archs of a step are a function of (seed, step), as is the data, so a resumed run repeats
exactly what an uninterrupted one would have done.

Outputs in `out_dir`: `config.yaml` (resolved), `run.json` (versions, device, processes, seed, class
weights), `log.csv` (loss per arch, lr, grad norm, throughput, elapsed time), `eval.csv`, `checkpoint.pt`.
"""

from __future__ import annotations

import json
import math
import os
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Dataset
from tqdm import tqdm

from moseg.data import TrainTransform, build_dataset, data_protocol
from moseg.data.balance import median_frequency_weights
from moseg.data.loader import train_loader
from moseg.metrics.scoring import EvaluationData, autocast, clock
from moseg.nn import Supernet, build_network
from moseg.nn.zoo import build_baseline
from moseg.space import Arch, SearchSpace
from moseg.train.checkpoint import load_checkpoint, restore_rng, save_checkpoint
from moseg.train.config import RESUMABLE_CHANGES, TrainConfig
from moseg.train.distributed import ProcessInfo, barrier, init_from_env, shutdown
from moseg.train.losses import distillation_loss, segmentation_loss
from moseg.train.optim import build_optimizer, build_scheduler
from moseg.util.config import ConfigError, dump_yaml, from_dict, to_dict
from moseg.util.csvlog import CsvLog
from moseg.util.devices import resolve_device, usable_cores
from moseg.util.provenance import device_info, versions

AMP_DTYPES = {"off": None, "bf16": torch.bfloat16, "fp16": torch.float16}
LOG_COLUMNS = ["iteration", "epoch", "loss", "loss_max", "loss_min", "loss_sampled", "lr", "grad_norm",
               "images_per_s", "elapsed_s"]
EVAL_COLUMNS = ["iteration", "arch", "split", "miou", "pixel_acc", "seconds"]
LONG_CPU_RUN_HOURS = 3.0  # a CPU run expected to take longer gets a pointer to the protocol sized for a CPU


def load_arch(spec: str | dict) -> Arch:
    """An Arch from a JSON file path or a mapping; either may hold the arch itself or {"arch": {...}}."""
    if isinstance(spec, str):
        try:
            data = json.loads(Path(spec).read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"model.arch = {spec!r} is not a JSON file ({type(err).__name__}: {err}); expected an "
                             "arch as `moseg space --json` prints it") from None
    else:
        data = spec
    if isinstance(data, dict) and "arch" in data:
        data = data["arch"]
    return Arch.from_dict(data)


def saved_config(state: dict) -> dict:
    """The training config stored in a checkpoint, with keys added to the schema since then at their defaults,
    so that a checkpoint written before a new key existed compares equal to the config that resumes it."""
    return to_dict(from_dict(TrainConfig, state["config"]))


def config_differences(saved: dict, current: dict, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested config dicts."""
    keys = sorted(set(saved) | set(current))
    out = []
    for key in keys:
        name = f"{prefix}{key}"
        a, b = saved.get(key), current.get(key)
        if isinstance(a, dict) and isinstance(b, dict) and name not in ("data.options", "model.space"):
            out += config_differences(a, b, f"{name}.")
        elif a != b:
            out.append(name)
    return out


class Trainer:
    """Builds everything a run needs from a `TrainConfig` (failing fast on bad data paths, arches or
    devices), then `run()` trains, checkpoints, logs and evaluates. With `resume`, continues from
    `out_dir/checkpoint.pt` if there is one."""

    def __init__(self, config: TrainConfig, resume: bool = False, label: str | None = None) -> None:
        self.config = config
        self.label = label or ("standalone" if config.standalone else "supernet")  # the progress bar's name
        self.out_dir = Path(config.out_dir)
        self.checkpoint_path = self.out_dir / "checkpoint.pt"
        if self.checkpoint_path.exists() and not resume:
            raise FileExistsError(f"{self.checkpoint_path} exists: pass --resume (resume=True) to continue that "
                                  "run, or choose another out_dir")
        self.device = resolve_device(config.device, local_rank=int(os.environ.get("LOCAL_RANK", "0")))
        self.amp = self._amp_dtype()
        self.channels_last = config.train.uses_channels_last
        self.process: ProcessInfo = init_from_env(self.device)
        if config.data.batch_size % self.process.world_size:
            raise ConfigError(f"data.batch_size = {config.data.batch_size} is not divisible by the "
                              f"{self.process.world_size} processes")
        torch.manual_seed(config.seed)
        np.random.seed(config.seed)
        if self.device.type == "cuda":  # autotune kernels for a fixed network; a supernet changes shape each step
            torch.backends.cudnn.benchmark = config.standalone
        self._build_data()
        self._build_model()
        self.start_step = 0
        self.class_weights: list[float] | None = None
        state = load_checkpoint(self.checkpoint_path) if resume and self.checkpoint_path.exists() else None
        if state is not None:
            self._restore(state)
        elif config.loss.class_weights == "median_frequency":
            weights = median_frequency_weights(self.calibration_data, self.num_classes)
            self.class_weights = (weights ** config.loss.class_weight_power).tolist()
        self.weight = None if self.class_weights is None else \
            torch.tensor(self.class_weights, dtype=torch.float32, device=self.device)
        self.log = CsvLog(self.out_dir / "log.csv", LOG_COLUMNS)
        self.eval_log = CsvLog(self.out_dir / "eval.csv", EVAL_COLUMNS)
        if self.process.is_main:
            self.log.keep_until("iteration", self.start_step)
            self.eval_log.keep_until("iteration", self.start_step)
            self._write_run_files(resumed=state is not None)
        self.evaluation: EvaluationData | None = None

    # ----------------------------------------------------------------------------------------------- setup
    def _amp_dtype(self) -> torch.dtype | None:
        amp = self.config.train.amp
        if amp == "auto":
            return torch.bfloat16 if self.device.type == "cuda" else None
        if amp == "fp16" and self.device.type != "cuda":
            raise ConfigError("train.amp = 'fp16' needs a GPU; use 'bf16' or 'off' on a CPU")
        return AMP_DTYPES[amp]

    def _build_data(self) -> None:
        d = self.config.data
        transform = TrainTransform(d.crop_size, d.scale_range, d.flip, d.jitter)
        self.train_data = build_dataset(d.dataset, d.root, d.train_split, transform=transform, **d.options)
        self.calibration_data = build_dataset(d.dataset, d.root, d.train_split, **d.options)
        self.val_data = build_dataset(d.dataset, d.root, d.val_split, **d.options) if d.val_split else None
        self.num_classes = self.train_data.num_classes
        self.pin_memory = self.device.type == "cuda" if d.pin_memory is None else d.pin_memory
        cores = usable_cores()
        self.workers = min(d.workers, cores)
        if self.workers < d.workers and self.process.is_main:
            tqdm.write(f"note: data.workers = {d.workers} lowered to {cores}, the cores this process may use; more "
                       "loader processes would only compete with training for them")

    def _build_model(self) -> None:
        cfg = self.config
        try:
            self.space = SearchSpace(**cfg.model.space)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"model.space = {cfg.model.space!r}: {err}") from err
        self.arch = load_arch(cfg.model.arch) if cfg.model.arch is not None else None
        self.max_arch, self.min_arch = self.space.max_arch(), self.space.min_arch()
        if cfg.model.baseline is not None:
            self.net: nn.Module = build_baseline(cfg.model.baseline, self.num_classes)
        elif cfg.standalone:
            self.net = build_network(self.arch, self.num_classes, self.space)
        else:
            self.net = Supernet(self.space, self.num_classes)
        self.net.to(self.device)
        if self.channels_last:
            self.net.to(memory_format=torch.channels_last)
        self.model: nn.Module = self.net
        if self.process.distributed:
            self.model = DistributedDataParallel(
                self.net, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=not cfg.standalone)  # each sub-network uses a part of the supernet
        o = cfg.optim
        self.optimizer = build_optimizer(self.net, o.lr, o.momentum, o.weight_decay, o.nesterov)
        self.scheduler = build_scheduler(self.optimizer, cfg.train.iterations, o.warmup_iters, o.poly_power)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp == torch.float16)

    def _restore(self, state: dict) -> None:
        saved, current = saved_config(state), to_dict(self.config)
        changed = [k for k in config_differences(saved, current) if k not in RESUMABLE_CHANGES]
        if changed:
            raise ConfigError(f"cannot resume {self.checkpoint_path}: the config differs in {changed}; only "
                              f"{sorted(RESUMABLE_CHANGES)} may change on resume")
        self.net.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.class_weights = state["class_weights"]
        self.start_step = state["iteration"]
        if self.start_step > self.config.train.iterations:
            raise ConfigError(f"cannot resume {self.checkpoint_path}: it is at iteration {self.start_step}, beyond "
                              f"train.iterations = {self.config.train.iterations}; raise train.iterations to go on "
                              "training, or use another out_dir")
        restore_rng(state["rng"])

    def _metadata(self) -> dict:
        """What run.json and the checkpoint both record about the network and its classes."""
        return {"kind": "standalone" if self.config.standalone else "supernet", "num_classes": self.num_classes,
                "class_names": list(self.train_data.class_names), "class_weights": self.class_weights,
                "arch": self.arch.to_dict() if self.arch else None, "baseline": self.config.model.baseline}

    def _write_run_files(self, resumed: bool) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        (self.out_dir / "config.yaml").write_text(dump_yaml(self.config))
        run = {
            **self._metadata(), "seed": self.config.seed, "versions": versions(), "device": str(self.device),
            **device_info(self.device), "processes": self.process.world_size,
            "amp": str(self.amp).replace("torch.", "") if self.amp else "off", "channels_last": self.channels_last,
            "train_images": len(self.train_data), "data_protocol": data_protocol(self.train_data),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "resumed_from_iteration": self.start_step if resumed else None,
        }
        (self.out_dir / "run.json").write_text(json.dumps(run, indent=2))

    # ------------------------------------------------------------------------------------------- training
    def _no_sync(self, last: bool):
        """Accumulate locally; synchronise gradients across processes only with the last backward."""
        return self.model.no_sync() if self.process.distributed and not last else nullcontext()

    def step_archs(self, step: int) -> list[Arch]:
        """The archs trained at `step`: max, min, then `random_archs` sampled with a (seed, step) generator."""
        rng = np.random.default_rng([self.config.seed, 1, step])
        sampled = [self.space.decode(x) for x in self.space.sample(self.config.train.random_archs, rng)]
        return [self.max_arch, self.min_arch, *sampled]

    def distill_weight(self, step: int) -> float:
        """The weight of in-place distillation at `step`: `loss.distill_alpha`, ramped up linearly over the first
        `loss.distill_warmup_iters` steps."""
        lc = self.config.loss
        ramp = min(1.0, (step + 1) / lc.distill_warmup_iters) if lc.distill_warmup_iters else 1.0
        return lc.distill_alpha * ramp

    def _loss(self, logits: torch.Tensor, labels: torch.Tensor, teacher: torch.Tensor | None,
              step: int) -> torch.Tensor:
        lc = self.config.loss
        alpha = self.distill_weight(step) if teacher is not None else 0.0
        loss = 0.0
        if alpha < 1:
            loss = (1 - alpha) * segmentation_loss(logits, labels, weight=self.weight, ohem=lc.ohem,
                                                   ohem_thresh=lc.ohem_thresh, ohem_min_kept=lc.ohem_min_kept)
        if alpha > 0:
            loss = loss + alpha * distillation_loss(logits, teacher, labels, temperature=lc.distill_temperature)
        return loss

    def _forward_backward(self, images: torch.Tensor, labels: torch.Tensor, step: int) -> torch.Tensor:
        """Per-arch losses of one step (gradients accumulated into .grad)."""
        archs = [self.arch] if self.config.standalone else self.step_archs(step)
        losses, teacher = [], None
        for i, arch in enumerate(archs):
            if not self.config.standalone:
                self.net.set_active(arch)
            with self._no_sync(last=i == len(archs) - 1):
                with autocast(self.device, self.amp):
                    logits = self.model(images)
                loss = self._loss(logits, labels, teacher, step)
                self.scaler.scale(loss).backward()
            if i == 0 and self.config.loss.distill_alpha > 0:
                teacher = logits.detach()
            losses.append(loss.detach())
        return torch.stack(losses)

    def _optimizer_step(self) -> torch.Tensor:
        self.scaler.unscale_(self.optimizer)
        clip = self.config.optim.grad_clip
        grad_norm = torch.nn.utils.clip_grad_norm_(self.net.parameters(), clip if clip is not None else float("inf"))
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        return grad_norm

    def run(self) -> dict:
        """Train from `start_step` to `train.iterations`; returns the final evaluation (empty without a
        validation split)."""
        cfg, total = self.config.train, self.config.train.iterations
        loader = train_loader(self.train_data, self.config.data.batch_size, self.config.seed,
                              start_step=self.start_step, rank=self.process.rank, world_size=self.process.world_size,
                              workers=self.workers, pin_memory=self.pin_memory)
        steps_per_epoch = loader.batch_sampler.steps_per_epoch
        batches = iter(loader)
        bar = tqdm(total=total, initial=self.start_step, disable=not (cfg.progress and self.process.is_main),
                   desc=self.label, dynamic_ncols=True)
        self.net.train()
        window_losses, window_norms, window_start, run_start = [], [], time.perf_counter(), time.perf_counter()
        result: dict = self._missed_evaluation(total)
        try:
            for step in range(self.start_step, total):
                images, labels = next(batches)
                images = images.to(self.device, non_blocking=True)
                labels = labels.to(self.device, non_blocking=True)
                if self.channels_last:
                    images = images.contiguous(memory_format=torch.channels_last)
                lr = self.optimizer.param_groups[0]["lr"]
                window_losses.append(self._forward_backward(images, labels, step))
                window_norms.append(self._optimizer_step())
                done = step + 1
                bar.update(1)
                if done % cfg.log_every == 0 or done == total:
                    now = time.perf_counter()
                    row = self._log_row(done, steps_per_epoch, lr, window_losses, window_norms,
                                        now - window_start, now - run_start)
                    bar.set_postfix(loss=f"{row['loss']:.3f}", lr=f"{lr:.2e}")
                    if done - self.start_step == cfg.log_every and self.process.is_main:
                        tqdm.write(self._cost_note(total - done, (now - run_start) / cfg.log_every))
                    window_losses, window_norms, window_start = [], [], now
                if done % cfg.checkpoint_every == 0 or done == total:
                    self.save(done)
                if self.val_data is not None and (done == total or (cfg.eval_every and done % cfg.eval_every == 0)):
                    result = self.evaluate(done)
        finally:
            bar.close()
        return result

    def _cost_note(self, steps_left: int, seconds_per_step: float) -> str:
        """What the rest of the run will cost at the pace of its first steps; on a CPU, a run of many hours
        points to the protocol sized for one."""
        hours = steps_left * seconds_per_step / 3600
        note = (f"note: {steps_left} steps to go at {seconds_per_step:.2f} s/step on {self.device}: about "
                f"{hours:.1f} h (evaluations not counted)")
        if self.device.type == "cpu" and hours > LONG_CPU_RUN_HOURS:
            note += ("; for a CamVid protocol sized for a CPU (half resolution, fewer steps) use "
                     "experiments/configs/camvid_cpu.yaml, or lower train.iterations and data.options.scale")
        return note

    def _missed_evaluation(self, total: int) -> dict:
        """The evaluation due at the checkpoint this run resumes from, when a kill interrupted it (the checkpoint
        is written first); {} when there is none to redo."""
        step, every = self.start_step, self.config.train.eval_every
        due = self.val_data is not None and step > 0 and (step == total or (every and step % every == 0))
        done = {int(row["iteration"]) for row in self.eval_log.rows()} if due else set()
        return self.evaluate(step) if due and step not in done else {}

    def _log_row(self, done: int, steps_per_epoch: int, lr: float, losses: list[torch.Tensor],
                 norms: list[torch.Tensor], window_s: float, elapsed_s: float) -> dict:
        per_arch = torch.stack(losses).float().mean(0).tolist()  # one device sync per log row
        if not all(math.isfinite(v) for v in per_arch):
            raise ValueError(f"training diverged by iteration {done}: the loss is {per_arch} (max, min, sampled "
                             f"archs); the last checkpoint in {self.out_dir} is kept. Lower optim.lr or raise "
                             "optim.warmup_iters")
        row = {
            "iteration": done, "epoch": f"{done / steps_per_epoch:.3f}", "loss": float(np.sum(per_arch)),
            "loss_max": per_arch[0], "loss_min": per_arch[1] if len(per_arch) > 1 else "",
            "loss_sampled": float(np.mean(per_arch[2:])) if len(per_arch) > 2 else "",
            "lr": lr, "grad_norm": float(torch.stack(norms).float().mean()),
            "images_per_s": round(len(losses) * self.config.data.batch_size / window_s, 2),
            "elapsed_s": round(elapsed_s, 2),
        }
        if self.process.is_main:
            self.log.append(row)
        return row

    def save(self, iteration: int) -> None:
        """Checkpoint (main process only) and wait until it is on disk."""
        if self.process.is_main:
            save_checkpoint(self.checkpoint_path, {
                "iteration": iteration, "finished": iteration >= self.config.train.iterations,
                "config": to_dict(self.config), **self._metadata(), "model": self.net.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(),
            })
        barrier(self.process)

    # ----------------------------------------------------------------------------------------- evaluation
    def evaluation_data(self, calib_images: int | None = None, val_data: Dataset | None = None,
                        split: str | None = None) -> EvaluationData:
        """The batches this run scores networks on (its `eval.*` settings, device, precision and layout);
        `calib_images`, and `val_data` with its `split`, replace the config's for a study."""
        e = self.config.eval
        return EvaluationData.from_datasets(
            self.calibration_data, self.val_data if val_data is None else val_data,
            split=split or self.config.data.val_split, device=self.device,
            calib_images=e.calib_images if calib_images is None else calib_images,
            calib_batch_size=e.calib_batch_size, batch_size=e.batch_size, seed=self.config.seed,
            workers=self.workers, rank=self.process.rank, world_size=self.process.world_size,
            amp=self.amp, channels_last=self.channels_last)

    def evaluate(self, iteration: int) -> dict:
        """Validation mIoU: of the max and min archs (BN recalibrated) for a supernet, of the network (its own
        running statistics) for a standalone run. Appended to eval.csv; returns {name: scores}."""
        if self.evaluation is None:
            self.evaluation = self.evaluation_data()
        results = {}
        if self.config.standalone:
            start = time.perf_counter()
            scores = self.evaluation.evaluate_network(self.net, recalibrate=False)
            results["model"] = {**scores, "seconds": time.perf_counter() - start}
        else:
            for name, arch in (("max", self.max_arch), ("min", self.min_arch)):
                start = clock(self.evaluation.device)
                scores = self.evaluation.evaluate_network(self.net.extract(arch))
                results[name] = {**scores, "seconds": clock(self.evaluation.device) - start}
        if self.process.is_main:
            for name, r in results.items():
                self.eval_log.append({
                    "iteration": iteration, "arch": name, "split": self.config.data.val_split, "miou": r["miou"],
                    "pixel_acc": r["pixel_acc"], "seconds": round(r["seconds"], 3)})
        return results


def train(config: TrainConfig | dict, resume: bool = False) -> dict:
    """Train as `config` says (a TrainConfig or a nested dict of its keys); returns the final evaluation."""
    if isinstance(config, dict):
        config = from_dict(TrainConfig, config)
    trainer = Trainer(config, resume=resume)
    try:
        return trainer.run()
    finally:
        shutdown(trainer.process)
