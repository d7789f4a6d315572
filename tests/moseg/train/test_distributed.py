"""Two CPU processes on the gloo backend, launched by torchrun exactly as a multi-GPU run would be."""

import json
import subprocess
import sys

import torch

from moseg.train import Trainer
from moseg.train.checkpoint import load_checkpoint

WORKER = """
import sys
import torch
from moseg.train import Trainer, load_train_config
from moseg.train.distributed import shutdown

trainer = Trainer(load_train_config(None, sys.argv[2:]))
result = trainer.run()
torch.save({"model": trainer.net.state_dict(), "result": result}, f"{sys.argv[1]}/rank{trainer.process.rank}.pt")
shutdown(trainer.process)
"""


def test_torchrun_two_processes_stay_in_lockstep(tmp_path, tiny_config):
    config = tiny_config("train.iterations=4", "train.random_archs=1", "data.batch_size=4")
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    overrides = [f"out_dir={config.out_dir}", "device=cpu", f"model.space={json.dumps(config.model.space)}",
                 "data.options={size: [48, 64], length: 16}", "data.crop_size=[48, 64]", "data.batch_size=4",
                 "data.workers=0", "train.iterations=4", "train.random_archs=1", "train.progress=false",
                 "eval.calib_images=4", "eval.calib_batch_size=2"]
    run = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(script),
         str(tmp_path), *overrides], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(2)]
    saved = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    initial = Trainer(tiny_config(out="init")).net.state_dict()  # same seed, same initial weights
    weights = [n for n in initial if not n.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    for name in weights:
        # gradients accumulated over the sandwich were averaged across processes once per step, including
        # those of weights that only the first (unsynchronised) sub-network used
        assert torch.equal(ranks[0]["model"][name], ranks[1]["model"][name]), name
        assert torch.equal(ranks[0]["model"][name], saved["model"][name]), name
    trained = [n for n in weights if not torch.equal(initial[n], saved["model"][n])]
    assert len(trained) > len(weights) / 2 and saved["iteration"] == 4
    # the validation confusion matrix is summed across processes, so both ranks report the same mIoU
    assert ranks[0]["result"]["max"]["miou"] == ranks[1]["result"]["max"]["miou"]
    assert json.loads((tmp_path / "run" / "run.json").read_text())["processes"] == 2
