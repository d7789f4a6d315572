"""Does a network's latency depend on its weights? net2 and net3 of the CamVid CPU run timed with their retrained
weights, with the supernet's and freshly initialised, with and without flushing denormals, one after another in
one process (1 thread, 180x240, the run's protocol).

    python benchmarks/latency_by_weights.py     # needs runs/camvid_cpu (the supernet checkpoint and exports)
"""
import json

import torch

from moseg.latency import measure_latency
from moseg.nn import Supernet
from moseg.report.export import load_network
from moseg.space import Arch, SearchSpace
from moseg.train.checkpoint import load_checkpoint

state = load_checkpoint("runs/camvid_cpu/supernet/checkpoint.pt")
space = SearchSpace(**state["config"]["model"]["space"])
supernet = Supernet(space, 11)
supernet.load_state_dict(state["model"])
torch.manual_seed(0)
fresh = Supernet(space, 11)
for name in ("net2", "net3"):
    folder = f"runs/camvid_cpu/retrain/networks/{name}/export"
    arch = Arch.from_dict(json.loads(open(f"{folder}/network.json").read())["arch"])
    nets = {"retrained": load_network(folder), "supernet": supernet.extract(arch), "init": fresh.extract(arch)}
    for flush in (False, True):
        torch.set_flush_denormal(flush)
        for label, net in nets.items():
            r = measure_latency(net, (1, 3, 180, 240), threads=1, min_time_s=1.0)
            print(f"{name} {label:10s} flush_denormal={flush}: {r.median_ms:.2f} ms", flush=True)
