"""Every code block of the README runs as written, in order, on a CPU, from a fresh folder.

The blocks run one after another in one workspace (a folder laid out like the repository, with `../shared`
beside it), so each block may use what the blocks before it wrote, as a reader following the page would. Python
blocks share one namespace. Where a block trains, searches or measures at full size, `SHRINK` makes it small by
named text substitutions; every substitution must still match the README, so a changed block is never run at full
size by accident, and a new block is run as written. CamVid blocks are skipped, with the reason, without the data.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```(bash|python)\n(.*?)^```", re.S | re.M)

DEMO_SHORT = ("supernet.train.iterations=4 supernet.train.progress=false supernet.data.batch_size=4 "
              "search.budget=7 search.n_doe=4 search.n_infill=2 search.surrogate=ridge_onehot search.pop_size=10 "
              "search.n_gen=3 search.latency.min_time_s=0 retrain.n_select=2 retrain.onnx=false "
              "retrain.latency.min_time_s=0 retrain.recipe.train.iterations=3 retrain.recipe.train.progress=false "
              "retrain.recipe.data.batch_size=4")
CAMVID_TINY = ("'data.options={scale: 0.25}' data.crop_size=[72,96] data.batch_size=2 data.workers=0 "
               "train.iterations=2 train.progress=false eval.calib_images=2 eval.calib_batch_size=2")
SEARCH_TINY = "n_doe=4 n_infill=2 pop_size=10 n_gen=3 surrogate=ridge_onehot latency.min_time_s=0"
RETRAIN_TINY = ("'recipe.data.options={scale: 0.25}' recipe.data.crop_size=[72,96] recipe.data.batch_size=2 "
                "recipe.data.workers=0 recipe.train.iterations=2 recipe.train.progress=false "
                "recipe.eval.calib_images=2 latency.min_time_s=0 latency.resolution=[90,120] onnx=false")
PIPELINE_TINY = ("supernet.train.iterations=2 supernet.train.progress=false supernet.data.batch_size=2 "
                 "supernet.data.crop_size=[72,96] 'supernet.data.options={scale: 0.25}' supernet.eval.calib_images=2 "
                 "search.budget=5 search.n_doe=3 search.n_infill=2 search.surrogate=ridge_onehot search.pop_size=10 "
                 "search.n_gen=3 search.latency.min_time_s=0 search.latency.resolution=[90,120] "
                 "retrain.n_select=1 retrain.baselines=[] retrain.onnx=false retrain.latency.min_time_s=0 "
                 "retrain.latency.resolution=[90,120] retrain.recipe.train.iterations=2 "
                 "retrain.recipe.train.progress=false retrain.recipe.data.batch_size=2 "
                 "retrain.recipe.data.crop_size=[72,96] 'retrain.recipe.data.options={scale: 0.25}' "
                 "retrain.recipe.eval.calib_images=2")

# a text only one README block holds -> the (old, new) substitutions that make it small, or why it is not run
SHRINK: dict[str, list[tuple[str, str]] | str] = {
    "&& moseg demo": [('pip install torch==2.13.0 && pip install -e ".[test,onnx,ray]" && ', ""),
                      ("moseg demo", f"moseg demo {DEMO_SHORT}")],
    "python -m pytest -q": "the test command itself",
    "moseg train-supernet --config experiments/configs/camvid_supernet.yaml": [
        ("data.root=../shared/data/camvid", f"data.root=../shared/data/camvid {CAMVID_TINY}")],
    "CandidateEvaluator.from_checkpoint": [("sample(10, seed=0)", "sample(2, seed=0)")],
    "moseg latency --n 100": [("--n 100", "--n 4 --min-time 0"), ("360x480", "90x120")],
    "LatencyTable(": [("space.sample(1000, seed=0)", "space.sample(2, seed=0)"),
                      ("(360, 480), device=\"cpu\")", "(90, 120), device=\"cpu\", min_time_s=0, min_repeats=3)")],
    "run_search(evaluate": [("budget=150", "budget=30"), ("n_infill=8", "n_infill=8, pop_size=20, n_gen=5")],
    "moseg search checkpoint=runs/camvid_supernet/checkpoint.pt": [
        ("budget=300", f"budget=6 {SEARCH_TINY} latency.resolution=[90,120]")],
    "moseg retrain search_dir=runs/camvid_search": [("n_select=5", f"n_select=2 {RETRAIN_TINY}")],
    "evaluator.kind=ray": [("budget=20 n_doe=10", "budget=8 n_doe=4 n_infill=2 surrogate=ridge_onehot pop_size=10 "
                                                  "n_gen=3")],
    "python experiments/camvid.py --config experiments/configs/camvid_cpu.yaml": [
        ("--data ../shared/data/camvid", f"--data ../shared/data/camvid out_dir=runs/camvid_cpu_tiny {PIPELINE_TINY}")],
}


def readme_blocks() -> list[tuple[str, str]]:
    """(language, code) of every fenced bash and python block of the README, in order."""
    return BLOCK.findall((ROOT / "README.md").read_text())


def shrink_rules(code: str) -> list[tuple[str, str]] | str:
    """The substitutions of a block (none for a block that runs small as written), or why it is not run."""
    keys = [key for key in SHRINK if key in code]
    assert len(keys) <= 1, f"a README block holds several SHRINK keys {keys}"
    return SHRINK[keys[0]] if keys else []


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A folder laid out like the repository (experiments/ linked), and the Python blocks' shared namespace."""
    work = tmp_path_factory.mktemp("readme") / "main"
    work.mkdir()
    (work / "experiments").symlink_to(ROOT / "experiments")
    return {"dir": work, "namespace": {"__name__": "readme"}}


def test_each_shrink_key_names_exactly_one_readme_block():
    codes = [code for _, code in readme_blocks()]
    for key in SHRINK:
        assert sum(key in code for code in codes) == 1, f"{key!r} is in no README block, or in several"


@pytest.mark.parametrize("index", range(len(readme_blocks())))
def test_readme_block_runs_as_written(workspace, request, monkeypatch, index):
    language, code = readme_blocks()[index]
    rules = shrink_rules(code)
    if isinstance(rules, str):
        pytest.skip(f"not run: {rules}")
    work = workspace["dir"]
    if "camvid" in code:
        camvid = request.getfixturevalue("camvid_root")  # skips, naming the path, without the data
        link = work.parent / "shared" / "data" / "camvid"
        if not link.exists():
            link.parent.mkdir(parents=True)
            link.symlink_to(camvid)
    for old, new in rules:
        assert old in code, f"README block {index} no longer holds {old!r}; update SHRINK"
        code = code.replace(old, new)
    monkeypatch.chdir(work)
    if language == "python":
        # dont_inherit: run without this file's `from __future__ import annotations`, as a reader's script would
        exec(compile(code, f"README block {index}", "exec", dont_inherit=True), workspace["namespace"])
        return
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "OMP_NUM_THREADS": "1"}
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", code], cwd=work, env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, f"README block {index} failed:\n{code}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
