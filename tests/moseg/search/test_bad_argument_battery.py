"""A battery of malformed `run_search` arguments: each is refused before anything is evaluated, with a ValueError
that names the argument and what was expected; nothing is written and the evaluator is never called."""

from __future__ import annotations

import numpy as np
import pytest
from search_problems import FAST, XL, XU, Counted

from moseg.search import run_search

NOT_INTEGERS = [1.5, "3", None, True, np.nan, [4], 2 + 0j]
ARGUMENTS = {  # argument -> (bad values, what the message says of it)
    "budget": ([0, -5, *NOT_INTEGERS], "budget"),
    "seed": ([-1, *NOT_INTEGERS], "seed"),
    "n_doe": ([0, 1, 30, 31, 1000, 2.5, "10", True, -3], "n_doe"),
    "n_infill": ([0, -1, 2.5, "4", True], "n_infill"),
    "pop_size": ([0, 1, 2.5, "20"], "pop_size"),
    "n_gen": ([0, -2, 1.5, "8"], "n_gen"),
    "prescreen": (["", "space", None, 3, "SPACING", "hvi ", ["spacing"]], "prescreen"),
    "surrogate": (["", "xgboost", None, "GP", "random-forest", "ridge", ["gp"]], "surrogate"),
    "cheap_objective": ([1.5, "1", None, 2, -3], "cheap_objective"),
    "accuracy_objective": ([0.5, "0", 5, -3], "accuracy_objective"),
    "ref_point": ([[np.nan, 1.0], [1.0], [1.0, 2.0, 3.0], [], [[1.0, 2.0]], ["a", "b"], [np.inf, 1.0],
                   [1 + 1j, 2.0]], "ref_point"),
    "exact_objectives": ([{5: lambda X: X[:, 0]}, {-1: lambda X: X[:, 0]}, {0.5: lambda X: X[:, 0]},
                          {1: "flops"}], "exact_objectives"),
}
BOUNDS = [  # (xl, xu, what the message names)
    (XL[:-1], XU, "xl and xu"), (XL, XU[:-1], "xl and xu"), (XL + 0.5, XU, "xl must hold integers"),
    (XL, np.full(5, np.nan), "xu must hold integers"), (XU, XL, "variable 0 has xl = 9 > xu = 0"),
    (np.array([]), np.array([]), "xl and xu"), (XL.reshape(1, -1), XU.reshape(1, -1), "xl and xu"),
]
CASES = [(name, value, named) for name, (values, named) in ARGUMENTS.items() for value in values]


def test_the_battery_covers_every_checked_argument():
    assert len(CASES) + len(BOUNDS) >= 80


@pytest.mark.parametrize(("name", "value", "named"), CASES, ids=[f"{n}={v!r}" for n, v, _ in CASES])
def test_a_malformed_argument_is_refused_before_any_evaluation(tmp_path, name, value, named):
    evaluate = Counted()
    arguments = {"budget": 30, "seed": 0, "out_dir": tmp_path / "run", **FAST, "n_doe": 20, name: value}
    with pytest.raises(ValueError) as error:
        run_search(evaluate, XL, XU, **arguments)
    message = str(error.value)
    assert named in message and any(word in message for word in ("expected", "returns", "use", "registered")), message
    assert evaluate.calls <= 1  # objective indices are checked at the first result, the rest before it


@pytest.mark.parametrize(("xl", "xu", "named"), BOUNDS, ids=[named for _, _, named in BOUNDS])
def test_malformed_bounds_are_refused_naming_them(tmp_path, xl, xu, named):
    evaluate = Counted()
    with pytest.raises(ValueError, match=named):
        run_search(evaluate, xl, xu, 30, seed=0, out_dir=tmp_path / "run", n_doe=20, **FAST)
    assert evaluate.calls == 0 and not (tmp_path / "run").exists()
