"""run_search: budget, outputs, failures, resume after a kill, determinism (golden front), pre-screening."""

import json

import numpy as np
import pandas as pd
import pytest
from search_problems import FAST, XL, XU, Counted, zdt1_like

from moseg.search import PRESCREENERS, run_search
from moseg.search.indicators import hypervolume

GOLDEN_FRONT = [[0, 0, 0, 0, 0], [1, 0, 0, 0, 0], [4, 0, 0, 0, 0], [8, 0, 0, 0, 0]]  # seed 3, pymoo 0.6.2


def test_spends_the_budget_and_writes_every_output(tmp_path):
    result = run_search(zdt1_like, XL, XU, 40, seed=0, out_dir=tmp_path, n_doe=20, n_infill=5, **FAST)
    assert len(result.X) == len(result.F) == 40 and not result.failed
    assert len({tuple(x) for x in result.X}) == 40  # nothing evaluated twice
    np.testing.assert_allclose(result.F, zdt1_like(result.X))
    assert {p.name for p in tmp_path.iterdir()} >= {"archive.csv", "front.csv", "stats.csv", "config.json"}
    stats = pd.read_csv(tmp_path / "stats.csv")
    assert list(stats["iteration"]) == [0, 1, 2, 3, 4] and list(stats["evaluations"]) == [20, 25, 30, 35, 40]
    assert stats["hypervolume"].is_monotonic_increasing
    assert stats["kendall_tau"].notna().sum() == 4  # predicted vs true on each iteration's new points
    predictions = pd.read_csv(tmp_path / "predictions.csv")
    assert len(predictions) == 20 * 2 and list(predictions["iteration"].unique()) == [1, 2, 3, 4]
    true = zdt1_like(np.stack([np.array(x.split(), dtype=int) for x in predictions["x"]]))
    np.testing.assert_allclose(predictions["true"], true[np.arange(len(predictions)), predictions["objective"]])
    front = pd.read_csv(tmp_path / "front.csv")
    np.testing.assert_allclose(np.sort(front[["f0", "f1"]].to_numpy(), axis=0), np.sort(result.front_F, axis=0))
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["settings"]["seed"] == 0 and "pymoo" in config["versions"]


def test_golden_front_for_a_fixed_seed(tmp_path):
    """A refactor that changes what the search finds shows up here; regenerate only on purpose."""
    result = run_search(zdt1_like, XL, XU, 40, seed=3, out_dir=tmp_path, n_doe=20, n_infill=5, **FAST)
    order = np.argsort(result.front_F[:, 0])
    assert result.front_X[order].tolist() == GOLDEN_FRONT


def test_a_killed_run_resumes_to_the_uninterrupted_archive_without_re_evaluating(tmp_path):
    reference = run_search(zdt1_like, XL, XU, 40, seed=1, out_dir=tmp_path / "a", n_doe=20, n_infill=5, **FAST)
    killed = Counted(interrupt_after=27)  # in the middle of iteration 2
    with pytest.raises(KeyboardInterrupt):
        run_search(killed, XL, XU, 40, seed=1, out_dir=tmp_path / "b", n_doe=20, n_infill=5, **FAST)
    assert len(pd.read_csv(tmp_path / "b" / "archive.csv")) == 27
    resumed = Counted()
    result = run_search(resumed, XL, XU, 40, seed=1, out_dir=tmp_path / "b", n_doe=20, n_infill=5, **FAST)
    assert resumed.calls == 13
    np.testing.assert_array_equal(result.X, reference.X)
    again = Counted()
    run_search(again, XL, XU, 40, seed=1, out_dir=tmp_path / "b", n_doe=20, n_infill=5, **FAST)
    assert again.calls == 0
    assert len(pd.read_csv(tmp_path / "b" / "stats.csv")) == len(reference.stats)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "b" / "predictions.csv"),
                                  pd.read_csv(tmp_path / "a" / "predictions.csv"))


def test_failed_candidates_are_recorded_once_and_the_search_goes_on(tmp_path):
    evaluate = Counted(fails=lambda x: x[0] == 0)
    result = run_search(evaluate, XL, XU, 35, seed=0, out_dir=tmp_path, n_doe=20, n_infill=5, **FAST)
    archive = pd.read_csv(tmp_path / "archive.csv")
    assert len(archive) == 35 and evaluate.calls == 35
    failed = archive[archive["status"] == "failed"]
    assert len(failed) == len(result.failed) > 0
    assert failed["error"].str.contains("RuntimeError: cannot evaluate").all()
    assert len(result.X) == 35 - len(failed) and np.all(result.X[:, 0] != 0)
    rerun = Counted(fails=lambda x: x[0] == 0)
    run_search(rerun, XL, XU, 35, seed=0, out_dir=tmp_path, n_doe=20, n_infill=5, **FAST)
    assert rerun.calls == 0  # failed candidates are never retried


@pytest.mark.parametrize("prescreen", sorted(PRESCREENERS))
def test_every_prescreening_variant_improves_on_the_design_of_experiments(tmp_path, prescreen):
    surrogate = "gp" if prescreen == "optimistic" else FAST["surrogate"]
    result = run_search(zdt1_like, XL, XU, 36, seed=0, out_dir=tmp_path, n_doe=20, n_infill=4, prescreen=prescreen,
                        **{**FAST, "surrogate": surrogate})
    assert len(result.X) == 36
    doe_hv, final_hv = result.stats["hypervolume"].iloc[[0, -1]]
    assert final_hv > doe_hv


def test_canonical_vectors_are_evaluated_once(tmp_path):
    def canonical(X):
        X = X.copy()
        X[X[:, 0] == 0, 1] = 0  # gene 1 means nothing when gene 0 is 0
        return X

    result = run_search(zdt1_like, XL, XU, 30, seed=0, out_dir=tmp_path, n_doe=20, n_infill=5,
                        canonicalize=canonical, **FAST)
    np.testing.assert_array_equal(result.X, canonical(result.X))
    assert len({tuple(x) for x in result.X}) == len(result.X)


def test_exact_objectives_are_computed_not_predicted(tmp_path):
    result = run_search(zdt1_like, XL, XU, 30, seed=0, out_dir=tmp_path, n_doe=20, n_infill=5,
                        exact_objectives={0: lambda X: X[:, 0] / 9.0}, **FAST)
    assert set(result.stats["surrogates"].dropna()) == {"f1=ridge_onehot"}
    assert set(pd.read_csv(tmp_path / "predictions.csv")["objective"]) == {1}  # exact ones are not predictions


def test_budget_may_grow_on_resume_but_other_settings_may_not(tmp_path):
    run_search(zdt1_like, XL, XU, 25, seed=0, out_dir=tmp_path, n_doe=20, n_infill=5, **FAST)
    assert len(run_search(zdt1_like, XL, XU, 30, seed=0, out_dir=tmp_path, n_doe=20, n_infill=5, **FAST).X) == 30
    with pytest.raises(ValueError, match=r"different settings: \['n_infill', 'seed'\]"):
        run_search(zdt1_like, XL, XU, 30, seed=1, out_dir=tmp_path, n_doe=20, n_infill=4, **FAST)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"xl": np.array([0, 5]), "xu": np.array([9, 4])}, "variable 1 has xl = 5 > xu = 4"),
    ({"xl": np.array([0, 0]), "xu": np.array([9, 9, 9])}, r"equal, non-zero length; got shapes \(2,\) and \(3,\)"),
    ({"xl": np.array([0, 0.5]), "xu": np.array([9, 9])}, "xl must hold integers"),
    ({"budget": 0}, "budget = 0, expected an integer >= 1"),
    ({"prescreen": "best"}, "prescreen = 'best', expected one of"),
    ({"surrogate": "svm"}, "unknown surrogate 'svm'"),
])
def test_bad_arguments_are_named(tmp_path, kwargs, message):
    args = {"evaluate_fn": zdt1_like, "xl": XL, "xu": XU, "budget": 30, "seed": 0, "out_dir": tmp_path, **kwargs}
    with pytest.raises(ValueError, match=message):
        run_search(**args)


@pytest.mark.parametrize("returned", [np.zeros(2), np.zeros((2, 2)), np.zeros((1, 0))])
def test_an_evaluate_fn_returning_the_wrong_shape_is_rejected(tmp_path, returned):
    with pytest.raises(ValueError, match=r"evaluate_fn returned objectives of shape .* expected \(1, n_obj\)"):
        run_search(lambda X: returned, XL, XU, 30, seed=0, out_dir=tmp_path, **FAST)


def test_the_front_holds_every_point_the_hypervolume_counts(tmp_path):
    result = run_search(zdt1_like, XL, XU, 30, seed=0, out_dir=tmp_path, n_doe=20, n_infill=5, **FAST)
    ref = np.array([1.0, 10.0])
    assert hypervolume(result.front_F, ref) == pytest.approx(hypervolume(result.F, ref))



def test_a_run_killed_in_the_design_of_experiments_resumes_it(tmp_path):
    reference = run_search(zdt1_like, XL, XU, 12, seed=2, out_dir=tmp_path / "a", n_doe=20, **FAST)
    with pytest.raises(KeyboardInterrupt):
        run_search(Counted(interrupt_after=5), XL, XU, 12, seed=2, out_dir=tmp_path / "b", n_doe=20, **FAST)
    resumed = Counted()
    result = run_search(resumed, XL, XU, 12, seed=2, out_dir=tmp_path / "b", n_doe=20, **FAST)
    assert resumed.calls == 7
    np.testing.assert_array_equal(result.X, reference.X)
