"""Surrogate-assisted multi-objective search over integer vectors; knows nothing of networks or supernets."""

from moseg.search.baselines import nsga2_search, random_search
from moseg.search.loop import DEFAULT_SURROGATE, run_search
from moseg.search.outputs import SearchResult
from moseg.search.prescreen import PRESCREENERS
from moseg.search.ray_evaluator import RayEvaluator  # registers the "ray" evaluator (Ray itself is imported on use)

__all__ = ["DEFAULT_SURROGATE", "PRESCREENERS", "RayEvaluator", "SearchResult", "nsga2_search", "random_search",
           "run_search"]
