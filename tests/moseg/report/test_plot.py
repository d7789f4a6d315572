"""Figures from the CSV outputs: files written, the numbers they show, and clear errors for bad tables."""

import json

import numpy as np
import pandas as pd
import pytest

from moseg.report import plot

RETRAINED_COLUMNS = ["name", "kind", "arch", "supernet_miou", "val_miou", "test_miou", "latency_ms", "latency_p90_ms",
                     "params", "macs", "train_seconds", "status", "error"]


def retrained_table() -> pd.DataFrame:
    """Searched a..e and two baselines; c is dominated by b, e failed (its empty metrics are never read)."""
    rows = [  # name, kind, supernet, test mIoU, latency, status
        ("a", "searched", 0.50, 0.60, 10.0, "ok"),
        ("b", "searched", 0.55, 0.70, 20.0, "ok"),
        ("c", "searched", 0.52, 0.65, 25.0, "ok"),
        ("d", "searched", 0.60, 0.75, 40.0, "ok"),
        ("e", "searched", None, None, None, "failed"),
        ("fast-base", "baseline", None, 0.62, 15.0, "ok"),
        ("big-base", "baseline", None, 0.74, 60.0, "ok"),
        ("broken-base", "baseline", None, None, None, "failed"),
    ]
    return pd.DataFrame([{"name": n, "kind": k, "arch": "1 0 2", "supernet_miou": s, "val_miou": t,
                          "test_miou": t, "latency_ms": lat, "latency_p90_ms": lat and 1.1 * lat, "params": 1000,
                          "macs": 2000, "train_seconds": 60.0, "status": st,
                          "error": "" if st == "ok" else "RuntimeError: out of memory"}
                         for n, k, s, t, lat, st in rows], columns=RETRAINED_COLUMNS)


def archive_table(rows: list[list[float] | None]) -> pd.DataFrame:
    """archive.csv rows in evaluation order; None is a failed evaluation."""
    return pd.DataFrame([{"eval": i, "iteration": i // 2, "genes": f"{i} 0 1",
                          "objectives": "" if f is None else json.dumps(f),
                          "status": "failed" if f is None else "ok", "error": "" if f else "ValueError: bad",
                          "seconds": 1.5} for i, f in enumerate(rows)])


def front_table(points: list[tuple[float, float]]) -> pd.DataFrame:
    return pd.DataFrame([{"genes": f"{i} 1", "miou_error": f0, "latency_ms": f1} for i, (f0, f1) in enumerate(points)])


def predictions_table() -> pd.DataFrame:
    rows = []
    for iteration in (1, 2, 3):
        for k in range(4):
            true = [0.3 + 0.05 * k + 0.01 * iteration, 10.0 + 3 * k + iteration]
            for objective in (0, 1):
                rows.append({"iteration": iteration, "x": f"{iteration} {k}", "objective": objective,
                             "predicted": true[objective] * (1.05 if k % 2 else 0.97), "true": true[objective]})
    return pd.DataFrame(rows)


def to_csv(table: pd.DataFrame, path):
    table.to_csv(path, index=False)
    return path


def check_written(paths, stem):
    """Both files exist next to `stem`, are non-empty and start with the PNG / PDF signature."""
    assert [p.name for p in paths] == [f"{stem.name}.png", f"{stem.name}.pdf"]
    png, pdf = (p.read_bytes() for p in paths)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000


@pytest.mark.parametrize("as_path", [False, True])
def test_pareto_figure_writes_png_and_pdf_from_frame_or_path(tmp_path, as_path):
    table = retrained_table()
    data = to_csv(table, tmp_path / "retrained.csv") if as_path else table
    check_written(plot.pareto_figure(data, tmp_path / "pareto", title="CamVid"), tmp_path / "pareto")


def test_pareto_networks_are_exactly_the_non_dominated_ok_searched_ones():
    table = retrained_table()
    assert list(plot.pareto_networks(table)["name"]) == ["a", "b", "d"]  # c is dominated by b; e failed
    # a tie in both objectives keeps both; a network better in one objective only is kept
    extra = pd.DataFrame([{**table.iloc[1].to_dict(), "name": "b2"},
                          {**table.iloc[0].to_dict(), "name": "a-slow", "latency_ms": 12.0}])
    assert list(plot.pareto_networks(pd.concat([table, extra]))["name"]) == ["a", "b", "b2", "d"]


def test_failed_rows_are_ignored_and_not_validated(tmp_path):
    table = retrained_table().astype({"test_miou": object})
    table.loc[table["status"] == "failed", "test_miou"] = "not a number"
    assert "e" not in set(plot.pareto_networks(table)["name"])
    check_written(plot.scratch_figure(table, tmp_path / "scratch.png"), tmp_path / "scratch")


@pytest.mark.parametrize("as_path", [False, True])
def test_scratch_figure(tmp_path, as_path):
    table = retrained_table()
    data = to_csv(table, tmp_path / "retrained.csv") if as_path else table
    check_written(plot.scratch_figure(data, tmp_path / "figs" / "scratch"), tmp_path / "figs" / "scratch")


def test_scratch_figure_needs_two_searched_networks(tmp_path):
    table = retrained_table()
    with pytest.raises(ValueError, match="at least 2 ok searched"):
        plot.scratch_figure(table[table["name"].isin(["a", "fast-base"])], tmp_path / "scratch")


def test_front_hypervolumes_by_hand(tmp_path):
    # (0.2, 10) and (0.4, 5) against (1, 20): 0.8 * 10 + 0.6 * 15 - 0.6 * 10 = 11; one point (0.2, 10): 8
    fronts = {"two": front_table([(0.2, 10.0), (0.4, 5.0)]), "one": to_csv(front_table([(0.2, 10.0)]),
                                                                          tmp_path / "front.csv")}
    assert plot.front_hypervolumes(fronts, ref_point=(1.0, 20.0)) == pytest.approx({"two": 11.0, "one": 8.0})
    # the default reference point is shared: the worst of all fronts stacked plus 10 % of the range
    default = plot.front_hypervolumes(fronts)
    ref = (0.4 + 0.02, 10.0 + 0.5)
    assert default == pytest.approx({"two": 0.22 * 0.5 + 0.02 * 5.0, "one": 0.22 * 0.5})
    assert default == pytest.approx(plot.front_hypervolumes(fronts, ref_point=ref))


@pytest.mark.parametrize("as_path", [False, True])
def test_fronts_figure(tmp_path, as_path):
    fronts = {"ours": front_table([(0.2, 10.0), (0.4, 5.0), (0.3, 7.0)]), "random": front_table([(0.35, 9.0)])}
    if as_path:
        fronts = {label: to_csv(table, tmp_path / f"{label}.csv") for label, table in fronts.items()}
    paths = plot.fronts_figure(fronts, tmp_path / "fronts", latency_label="latency (ms)", ref_point=(1.0, 20.0))
    check_written(paths, tmp_path / "fronts")


def test_hypervolume_traces_by_hand(tmp_path):
    # after eval 0: 0.5 * 10 = 5; eval 1 failed: 5; eval 2 adds (0.3, 12): 5 + 0.7 * 8 - 0.5 * 8 = 6.6;
    # eval 3 is dominated: 6.6
    archive = archive_table([[0.5, 10.0], None, [0.3, 12.0], [0.6, 15.0]])
    other = to_csv(archive_table([None, [0.9, 19.0]]), tmp_path / "archive.csv")
    traces = plot.hypervolume_traces({"run": archive, "other": other}, ref_point=(1.0, 20.0))
    assert traces["run"] == pytest.approx([5.0, 5.0, 6.6, 6.6])
    assert traces["other"] == pytest.approx([0.0, 0.1 * 1.0])
    for trace in plot.hypervolume_traces({"run": archive, "other": other}).values():  # default reference point
        assert np.all(np.diff(trace) >= 0)


def test_hypervolume_traces_follow_eval_order():
    archive = archive_table([[0.5, 10.0], None, [0.3, 12.0]]).iloc[::-1]
    assert plot.hypervolume_traces({"run": archive}, ref_point=(1.0, 20.0))["run"] == pytest.approx([5.0, 5.0, 6.6])


@pytest.mark.parametrize("as_path", [False, True])
def test_hypervolume_figure(tmp_path, as_path):
    archives = {"seed 0": archive_table([[0.5, 10.0], None, [0.3, 12.0], [0.6, 15.0]]),
                "seed 1": archive_table([[0.4, 14.0], [0.45, 9.0], None])}
    if as_path:
        archives = {label: to_csv(table, tmp_path / f"{i}.csv") for i, (label, table) in enumerate(archives.items())}
    check_written(plot.hypervolume_figure(archives, tmp_path / "hv.pdf"), tmp_path / "hv")


def test_hypervolume_needs_an_ok_row_for_the_default_reference_point():
    with pytest.raises(ValueError, match="no row with status 'ok'"):
        plot.hypervolume_traces({"run": archive_table([None, None])})


@pytest.mark.parametrize("as_path", [False, True])
def test_predictions_figure(tmp_path, as_path):
    table = predictions_table()
    data = to_csv(table, tmp_path / "predictions.csv") if as_path else table
    paths = plot.predictions_figure(data, tmp_path / "pred", objective_names={0: "1 - mIoU", 1: "latency (ms)"})
    check_written(paths, tmp_path / "pred")
    one = table[table["objective"] == 1]
    check_written(plot.predictions_figure(one, tmp_path / "pred1"), tmp_path / "pred1")


def test_save_figure_closes_a_pyplot_figure(tmp_path):
    pyplot = pytest.importorskip("matplotlib.pyplot")
    fig = pyplot.figure()
    fig.subplots().plot([0, 1], [1, 0])
    check_written(plot.save_figure(fig, tmp_path / "line.png"), tmp_path / "line")
    assert not pyplot.fignum_exists(fig.number)


def test_series_styles_differ_in_marker_and_line_style():
    styles = [plot.series_style(i) for i in range(4)]
    assert len({s["marker"] for s in styles}) == 4 and len({s["linestyle"] for s in styles}) == 4


def test_missing_file_raises(tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(ValueError, match=r"nope\.csv does not exist"):
        plot.pareto_figure(missing, tmp_path / "fig")
    with pytest.raises(ValueError, match=r"nope\.csv does not exist"):
        plot.fronts_figure({"a": missing}, tmp_path / "fig")


@pytest.mark.parametrize("call, table, column", [
    (lambda t, out: plot.pareto_figure(t, out), retrained_table(), "latency_ms"),
    (lambda t, out: plot.scratch_figure(t, out), retrained_table(), "supernet_miou"),
    (lambda t, out: plot.hypervolume_figure({"a": t}, out), archive_table([[0.5, 10.0]]), "status"),
    (lambda t, out: plot.predictions_figure(t, out), predictions_table(), "predicted"),
])
def test_missing_column_and_empty_table_raise(tmp_path, call, table, column):
    with pytest.raises(ValueError, match=f"lacks column.*'{column}'"):
        call(table.drop(columns=[column]), tmp_path / "fig")
    with pytest.raises(ValueError, match=r"table.csv lacks column"):
        call(to_csv(table.drop(columns=[column]), tmp_path / "table.csv"), tmp_path / "fig")
    with pytest.raises(ValueError, match=r"empty\.csv is empty"):
        call(to_csv(table.iloc[:0], tmp_path / "empty.csv"), tmp_path / "fig")
    (tmp_path / "blank.csv").write_text("")
    with pytest.raises(ValueError, match=r"blank\.csv is empty"):
        call(tmp_path / "blank.csv", tmp_path / "fig")
    assert not list(tmp_path.glob("fig*"))


def test_a_front_needs_two_objective_columns(tmp_path):
    front = front_table([(0.2, 10.0)])
    with pytest.raises(ValueError, match=r"front 'a' has objective columns \['miou_error'\]; expected two besides "
                                         "'genes'"):
        plot.fronts_figure({"a": front.drop(columns=["latency_ms"])}, tmp_path / "fig")
    with pytest.raises(ValueError, match=r"table.csv has objective columns \['miou_error', 'latency_ms', 'extra'\]"):
        plot.front_hypervolumes({"a": to_csv(front.assign(extra=1.0), tmp_path / "table.csv")})


def test_files_written_before_the_columns_were_named_still_read(tmp_path):
    """front.csv with x, f0, f1 and archive.csv with x, f (before issue 20) give what today's files give."""
    points, rows = [(0.2, 10.0), (0.4, 5.0)], [[0.5, 10.0], None, [0.3, 12.0], [0.2, 20.0]]
    old_front = front_table(points).set_axis(["x", "f0", "f1"], axis=1)
    old_archive = archive_table(rows).rename(columns={"genes": "x", "objectives": "f"})
    assert plot.front_hypervolumes({"old": to_csv(old_front, tmp_path / "front.csv")}, ref_point=(1, 30)) == \
        plot.front_hypervolumes({"old": front_table(points)}, ref_point=(1, 30))
    old_trace = plot.hypervolume_traces({"run": to_csv(old_archive, tmp_path / "archive.csv")})["run"]
    np.testing.assert_array_equal(old_trace, plot.hypervolume_traces({"run": archive_table(rows)})["run"])


def test_bad_values_raise_naming_them(tmp_path):
    table = retrained_table()
    table.loc[0, "test_miou"] = 62.0  # a percentage where a fraction is expected
    with pytest.raises(ValueError, match=r"'test_miou' holds 62.0 in row 0; expected a fraction in \[0, 1\]"):
        plot.pareto_figure(table, tmp_path / "fig")
    with pytest.raises(ValueError, match="no row with status 'ok'"):
        plot.pareto_figure(retrained_table().assign(status="failed"), tmp_path / "fig")
    archive = archive_table([[0.5, 10.0]]).assign(objectives="[0.5, oops]")
    with pytest.raises(ValueError, match="column 'objectives' holds '\\[0.5, oops\\]'"):
        plot.hypervolume_traces({"run": archive})
    with pytest.raises(ValueError, match="ref_point .* expected 2"):
        plot.front_hypervolumes({"a": front_table([(0.2, 10.0)])}, ref_point=(1.0, 2.0, 3.0))


@pytest.fixture
def drawn(monkeypatch):
    """The figures the plot functions save, kept for inspection."""
    figures = []
    save = plot.save_figure

    def keep(fig, out):
        figures.append(fig)
        return save(fig, out)

    monkeypatch.setattr(plot, "save_figure", keep)
    return figures


def test_hypervolume_figure_names_its_reference_point_and_counts_in_integers(tmp_path, drawn):
    archive = archive_table([[0.5, 10.0], None, [0.3, 12.0], [0.6, 15.0]])
    plot.hypervolume_figure({"run": archive}, tmp_path / "hv", ref_point=(1.0, 20.0))
    ax = drawn[-1].axes[0]
    assert ax.get_title() == "reference point (1, 20)"
    assert ax.get_legend().get_texts()[0].get_text() == "run (final 6.6)"
    assert all(float(t).is_integer() for t in ax.get_xticks())
    plot.hypervolume_figure({"run": archive}, tmp_path / "hv")  # the default point is named as well
    expected = ", ".join(f"{v:.4g}" for v in plot.reference_point(np.array([[0.5, 10.0], [0.3, 12.0], [0.6, 15.0]])))
    assert drawn[-1].axes[0].get_title() == f"reference point ({expected})"


def test_pareto_figure_takes_its_protocols_from_the_retraining_summary(tmp_path, drawn):
    path = to_csv(retrained_table(), tmp_path / "retrained.csv")
    (tmp_path / "summary.json").write_text(json.dumps({"data_protocol": "CamVid 480x360",
                                                       "latency_protocol": "cpu, 1 thread, 1x3x360x480"}))
    plot.pareto_figure(path, tmp_path / "pareto")
    ax = drawn[-1].axes[0]
    assert ax.get_title() == "CamVid 480x360" and ax.get_xlabel() == "latency (ms)\ncpu, 1 thread, 1x3x360x480"
    plot.pareto_figure(path, tmp_path / "pareto", title="mine", latency_label="ms")
    assert (drawn[-1].axes[0].get_title(), drawn[-1].axes[0].get_xlabel()) == ("mine", "ms")
    (tmp_path / "summary.json").write_text("{oops")
    with pytest.raises(ValueError, match=r"summary\.json is not valid JSON"):
        plot.pareto_figure(path, tmp_path / "pareto")


def test_scratch_figure_names_each_network_and_draws_y_equals_x(tmp_path, drawn):
    plot.scratch_figure(retrained_table(), tmp_path / "scratch")
    ax = drawn[-1].axes[0]
    assert sorted(t.get_text() for t in ax.texts) == ["a", "b", "c", "d"]
    diagonal = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert len(diagonal) == 1 and np.array_equal(*diagonal[0].get_data())
    assert ax.get_xlim() == ax.get_ylim()
