"""Paper-ready figures of a search and of its retrained networks, built from the CSV files alone.

Every figure can be redrawn from what the runs left on disk (`archive.csv`, `front.csv`, `predictions.csv` of a
search; `retrained.csv` of the retraining), without the models or the search state:

- `pareto_figure`: test mIoU against latency of the retrained networks, their front and the baselines;
- `fronts_figure`: the fronts of several searches (methods or seeds) with comparable hypervolumes;
- `hypervolume_figure`: the hypervolume after each true evaluation, i.e. how fast a search converges;
- `predictions_figure`: how well the surrogates predicted the candidates the search chose to evaluate;
- `scratch_figure`: how far the supernet's one-shot mIoU estimate ranks networks as retraining does.

All figures share one style (`STYLE`: single-column width, 8 pt fonts, a light grid) and tell series apart by
marker shape and line style as well as colour, so they stay readable in greyscale. Each writes `out.png`
(200 dpi) and the vector `out.pdf` through `save_figure` and returns the written paths. The figures are plain
`matplotlib.figure.Figure` objects, never registered with pyplot, so no display or interactive backend is needed.
Tables may be given as DataFrames or CSV paths; a missing file, an empty table, a missing column or a value that
is not a number raises a ValueError that names it.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from moseg.search.indicators import hypervolume, non_dominated, reference_point
from moseg.util.csvlog import read_table
from moseg.util.schema import GENES, OBJECTIVES, RENAMED_IN, objective_columns
from surrogates.metrics import kendall_tau

Table = pd.DataFrame | str | Path

STYLE = {
    "figure.figsize": (3.5, 2.6),
    "figure.constrained_layout.use": True,
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "legend.fontsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "axes.linewidth": 0.6,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "0.88",
    "grid.linewidth": 0.5,
    "lines.linewidth": 1.0,
    "lines.markersize": 4,
    "legend.framealpha": 0.85,
    "legend.edgecolor": "0.8",
    "legend.borderpad": 0.3,
    "legend.handlelength": 2.2,
    "pdf.fonttype": 42,  # TrueType in the PDF: editable text, accepted by paper submission systems
    "ps.fonttype": 42,
}
"""The rcParams of every figure of this module (applied with `matplotlib.rc_context`)."""

COLORS = ("#000000", "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")  # Okabe-Ito, colour-blind safe
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
LINESTYLES = ("-", "--", "-.", ":")
DPI = 200

ARCHIVE_COLUMNS = ("eval", GENES, OBJECTIVES, "status")
PREDICTION_COLUMNS = ("iteration", "objective", "predicted", "true")
RETRAINED_COLUMNS = ("name", "kind", "status")


def series_style(i: int) -> dict:
    """Colour, marker and line style of the i-th series of a figure: all three change, so that series stay apart
    in greyscale (7 colours, 10 markers and 4 line styles, cycled)."""
    return {"color": COLORS[i % len(COLORS)], "marker": MARKERS[i % len(MARKERS)],
            "linestyle": LINESTYLES[i % len(LINESTYLES)]}


def save_figure(fig: Figure, out: str | Path) -> list[Path]:
    """Write `fig` to `out`.png (200 dpi) and the vector `out`.pdf, creating the folder; a .png or .pdf suffix of
    `out` is replaced. Closes the figure if pyplot manages it (figures of this module are not pyplot's and are
    freed with their last reference). Returns the two paths."""
    out = Path(out)
    stem = out.with_suffix("") if out.suffix.lower() in (".png", ".pdf") else out
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.parent / f"{stem.name}.png", stem.parent / f"{stem.name}.pdf"]
    for path in paths:
        fig.savefig(path, dpi=DPI)
    if getattr(fig.canvas, "manager", None) is not None:
        from matplotlib import pyplot

        pyplot.close(fig)
    return paths


def pareto_networks(retrained: Table) -> pd.DataFrame:
    """The ok searched networks of `retrained` that no other searched network dominates (higher or equal test mIoU
    at lower or equal latency, better in one), sorted by latency: the front that `pareto_figure` draws."""
    searched = _searched(_retrained(retrained, ("test_miou", "latency_ms")))
    keep = non_dominated(np.column_stack([-searched["test_miou"], searched["latency_ms"]]))
    return searched.iloc[keep].sort_values(["latency_ms", "test_miou"], ignore_index=True)


def pareto_figure(retrained: Table, out: str | Path, *, title: str | None = None,
                  latency_label: str | None = None) -> list[Path]:
    """Test mIoU (%) against latency (ms) of the retrained networks (`retrained.csv`): every ok searched network,
    the non-dominated ones joined by a step line and labelled with their names, and each baseline with its own
    larger marker, named in the legend. Shows what the search found against hand-designed networks. A paper's
    figure names the data protocol in `title` and the latency protocol in `latency_label`; by default both come
    from the `summary.json` that retraining wrote beside a `retrained.csv` path."""
    summary = _retraining_summary(retrained)
    title = title if title is not None else summary.get("data_protocol")
    if latency_label is None:
        latency_label = "latency (ms)" + (f"\n{summary['latency_protocol']}" if "latency_protocol" in summary else "")
    table = _retrained(retrained, ("test_miou", "latency_ms"))
    searched, front = _searched(table), pareto_networks(table)
    baselines = table[table["kind"] == "baseline"]
    with matplotlib.rc_context(STYLE):
        fig = Figure()
        ax = fig.subplots()
        ax.plot(searched["latency_ms"], 100 * searched["test_miou"], "o", color="0.55", markerfacecolor="none",
                markeredgewidth=0.7, label="searched")
        if len(front):
            ax.step(front["latency_ms"], 100 * front["test_miou"], where="post", color="black", marker="o",
                    markersize=4, label="searched, non-dominated")
            for _, row in front.iterrows():  # up-left of a front point: no searched network, no step line
                ax.annotate(str(row["name"]), (row["latency_ms"], 100 * row["test_miou"]), xytext=(-2, 2),
                            textcoords="offset points", ha="right", va="bottom", fontsize=7)
        for i, (_, row) in enumerate(baselines.iterrows()):
            style = series_style(i + 1)  # the first style (black circles) is the searched networks'
            ax.plot(row["latency_ms"], 100 * row["test_miou"], linestyle="none", marker=style["marker"],
                    color=style["color"], markersize=7, markeredgecolor="black", markeredgewidth=0.5,
                    label=str(row["name"]))
        ax.set(xlabel=_wrapped(latency_label), ylabel="test mIoU (%)")
        if title:
            ax.set_title(_wrapped(title))
        ax.legend(loc="best")
        return save_figure(fig, out)


def front_hypervolumes(fronts: Mapping[str, Table], ref_point: Sequence[float] | None = None) -> dict[str, float]:
    """Hypervolume of each front (`front.csv`) on its two objectives against one shared reference point, so the
    numbers compare: `ref_point`, or by default `reference_point` of all fronts stacked."""
    return _hypervolumes(_fronts(fronts), ref_point)


def _hypervolumes(F: Mapping[str, np.ndarray], ref_point: Sequence[float] | None) -> dict[str, float]:
    ref = _reference(np.vstack(list(F.values())), ref_point)
    return {label: hypervolume(values, ref) for label, values in F.items()}


def fronts_figure(fronts: Mapping[str, Table], out: str | Path, *, latency_label: str = "latency",
                  ref_point: Sequence[float] | None = None) -> list[Path]:
    """The fronts of several searches (`fronts` maps a method or run label to its `front.csv`) as step lines of
    mIoU (%) = 100 (1 - first objective) against the second; the legend gives each front's hypervolume
    (`front_hypervolumes`, one shared reference point) so methods compare by number as well as by eye.
    `latency_label` names the second objective's axis."""
    fronts = _fronts(fronts)
    volumes = _hypervolumes(fronts, ref_point)
    with matplotlib.rc_context(STYLE):
        fig = Figure()
        ax = fig.subplots()
        for i, (label, F) in enumerate(fronts.items()):
            F = F[np.lexsort((F[:, 0], F[:, 1]))]
            ax.step(F[:, 1], 100 * (1 - F[:, 0]), where="post", label=f"{label} (HV {volumes[label]:.4g})",
                    **series_style(i))
        ax.set(xlabel=latency_label, ylabel="mIoU (%)")
        ax.legend(loc="best")
        return save_figure(fig, out)


def hypervolume_traces(archives: Mapping[str, Table], ref_point: Sequence[float] | None = None
                       ) -> dict[str, np.ndarray]:
    """For each run (`archives` maps a label to its `archive.csv`), the hypervolume of its ok evaluations after
    each evaluation in `eval` order, failed ones included (they repeat the previous value; 0 before the first ok
    one). One shared reference point: `ref_point`, or by default `reference_point` of every run's ok objectives."""
    return _traces_and_reference(archives, ref_point)[0]


def _traces_and_reference(archives: Mapping[str, Table], ref_point: Sequence[float] | None
                          ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """`hypervolume_traces` and the reference point it used."""
    if not archives:
        raise ValueError("no archives given; expected a mapping of run label -> archive.csv table or path")
    runs = {label: _archive_objectives(table, f"archive {label!r}") for label, table in archives.items()}
    ok = [F[~np.isnan(F).any(axis=1)] for F in runs.values()]
    if not sum(len(F) for F in ok):
        raise ValueError(f"archives {list(archives)} have no row with status 'ok'; the default reference point "
                         "needs at least one (or pass ref_point)")
    widths = {F.shape[1] for F in ok if len(F)}
    if len(widths) > 1:
        raise ValueError(f"archives {list(archives)} have different numbers of objectives {sorted(widths)}; "
                         "expected the same for all runs")
    ref = _reference(np.vstack([F for F in ok if len(F)]), ref_point)
    traces = {}
    for label, F in runs.items():
        ok_rows, trace, current = ~np.isnan(F).any(axis=1), np.zeros(len(F)), 0.0
        for i in range(len(F)):
            if ok_rows[i]:
                current = hypervolume(F[: i + 1][ok_rows[: i + 1]], ref)
            trace[i] = current
        traces[label] = trace
    return traces, ref


def hypervolume_figure(archives: Mapping[str, Table], out: str | Path, *,
                       ref_point: Sequence[float] | None = None) -> list[Path]:
    """Hypervolume after each true evaluation (`hypervolume_traces`, failed evaluations counted) of one or several
    runs, against one shared reference point, named in the title: how fast each search approaches its final front.
    Pass a search's own point (`moseg.search.outputs.search_reference_point`) to match what it printed."""
    traces, ref = _traces_and_reference(archives, ref_point)
    with matplotlib.rc_context(STYLE):
        fig = Figure()
        ax = fig.subplots()
        for i, (label, trace) in enumerate(traces.items()):
            evaluations = np.arange(1, len(trace) + 1)
            ax.plot(evaluations, trace, drawstyle="steps-post", markevery=max(1, len(trace) // 10),
                    label=f"{label} (final {trace[-1]:.4g})", **series_style(i))
        ax.set(xlabel="true evaluations", ylabel="hypervolume",
               title="reference point (" + ", ".join(f"{v:.4g}" for v in ref) + ")")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(loc="lower right")
        return save_figure(fig, out)


def predictions_figure(predictions: Table, out: str | Path, *,
                       objective_names: Mapping[int, str] | None = None) -> list[Path]:
    """One panel per objective in `predictions.csv`: the surrogate's prediction of each evaluated candidate against
    its true value, a y = x line, points shaded by search iteration (darker: later) and Kendall tau in the title.
    Shows whether the surrogates ranked the candidates well enough to steer the search. `objective_names` maps an
    objective index to its axis name (default "f0", "f1", ...)."""
    table, name = _load(predictions, PREDICTION_COLUMNS, "predictions table")
    table = _numeric(table, PREDICTION_COLUMNS, name)
    names = dict(objective_names or {})
    objectives = sorted(int(j) for j in table["objective"].unique())
    norm = Normalize(table["iteration"].min(), table["iteration"].max())
    with matplotlib.rc_context(STYLE):
        fig = Figure()
        axes = fig.subplots(1, len(objectives), squeeze=False)[0]
        for ax, j in zip(axes, objectives, strict=True):
            rows = table[table["objective"] == j]
            label = names.get(j, f"f{j}")
            points = ax.scatter(rows["true"], rows["predicted"], c=rows["iteration"], cmap="Greys", norm=norm, s=12,
                                edgecolors="black", linewidths=0.4)
            _identity_line(ax, np.concatenate([rows["true"], rows["predicted"]]))
            tau = f"{kendall_tau(rows['true'], rows['predicted']):.2f}" if len(rows) > 1 else "n/a"
            ax.set(xlabel=f"true {label}", ylabel=f"predicted {label}", title=f"Kendall τ = {tau}")
        colorbar = fig.colorbar(points, ax=list(axes), label="iteration", shrink=0.9)
        colorbar.locator = MaxNLocator(integer=True)
        return save_figure(fig, out)


def scratch_figure(retrained: Table, out: str | Path) -> list[Path]:
    """Supernet-estimated mIoU (%) against the from-scratch test mIoU (%) of the ok searched networks, each named,
    with y = x and Kendall tau in the title: how far the one-shot estimate that steered the search can be trusted
    to rank networks, and how far its values sit from the retrained ones."""
    searched = _searched(_retrained(retrained, ("supernet_miou", "test_miou"), kinds=("searched",)))
    if len(searched) < 2:
        raise ValueError(f"scratch_figure needs at least 2 ok searched networks to rank; got {len(searched)}")
    tau = kendall_tau(searched["test_miou"], searched["supernet_miou"])
    with matplotlib.rc_context(STYLE):
        fig = Figure()
        ax = fig.subplots()
        x, y = 100 * searched["supernet_miou"], 100 * searched["test_miou"]
        ax.plot(x, y, "o", color="black", markerfacecolor="none", markeredgewidth=0.8)
        for name, xi, yi in zip(searched["name"], x, y, strict=True):
            ax.annotate(str(name), (xi, yi), xytext=(3, 2), textcoords="offset points", fontsize=7)
        _identity_line(ax, np.concatenate([x, y]))
        ax.set(xlabel="supernet mIoU (%)", ylabel="test mIoU from scratch (%)",
               title=f"Kendall τ = {tau:.2f}; dashed: y = x")
        return save_figure(fig, out)


def _load(table: Table, columns: Sequence[str], what: str, renamed: dict[str, str] | None = None
          ) -> tuple[pd.DataFrame, str]:
    """The table (read from a CSV path, or the DataFrame given; older column names `renamed` to today's) and a name
    for messages, after checking that it exists, has `columns` and at least one row."""
    if isinstance(table, pd.DataFrame):
        frame, name = table.rename(columns=renamed or {}), what
    else:
        path = Path(table)
        frame, name = read_table(path, f"a {what}", renamed=renamed), str(path)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}; a {what} needs {list(columns)}, it has "
                         f"{list(frame.columns)}")
    if frame.empty:
        raise ValueError(f"{name} is empty; expected a {what} with at least one row")
    return frame.reset_index(drop=True), name


def _numeric(table: pd.DataFrame, columns: Sequence[str], name: str, fractions: Sequence[str] = ()) -> pd.DataFrame:
    """`table` with `columns` as floats, after checking that each value is a finite number (and in [0, 1] for the
    `fractions` columns)."""
    table = table.copy()
    for column in columns:
        values = pd.to_numeric(table[column], errors="coerce").to_numpy(float)
        bad = ~np.isfinite(values) | ((values < 0) | (values > 1) if column in fractions else False)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            expected = "a fraction in [0, 1]" if column in fractions else "a finite number"
            raise ValueError(f"{name}: column {column!r} holds {table[column].tolist()[i]!r} in row {i}; expected "
                             f"{expected}")
        table[column] = values
    return table


def _retrained(retrained: Table, metrics: Sequence[str], kinds: Sequence[str] = ("searched", "baseline")
               ) -> pd.DataFrame:
    """The ok rows of `kinds` of a `retrained.csv` table, with `metrics` checked and as floats (mIoU columns as
    fractions in [0, 1])."""
    table, name = _load(retrained, (*RETRAINED_COLUMNS, *metrics), "retrained table")
    table = table[(table["status"] == "ok") & table["kind"].isin(kinds)].reset_index(drop=True)
    if table.empty:
        raise ValueError(f"{name} has no row with status 'ok' and kind in {list(kinds)}; nothing to plot")
    return _numeric(table, metrics, name, fractions=[m for m in metrics if m.endswith("miou")])


def _retraining_summary(retrained: Table) -> dict:
    """The `summary.json` beside a `retrained.csv` path (its data and latency protocols), or {} for a DataFrame
    or a folder without one."""
    if isinstance(retrained, pd.DataFrame):
        return {}
    path = Path(retrained).parent / "summary.json"
    if not path.is_file():
        return {}
    try:
        summary = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON ({error}); expected the summary retraining writes") from None
    if not isinstance(summary, dict):
        raise ValueError(f"{path} holds {type(summary).__name__}; expected a JSON object (retraining's summary)")
    return summary


def _searched(retrained: pd.DataFrame) -> pd.DataFrame:
    return retrained[retrained["kind"] == "searched"].reset_index(drop=True)


def _fronts(fronts: Mapping[str, Table]) -> dict[str, np.ndarray]:
    """The objectives of each `front.csv` of `fronts`, checked: two columns besides the genes (1 - mIoU, then
    latency or cost), finite numbers."""
    if not fronts:
        raise ValueError("no fronts given; expected a mapping of label -> front.csv table or path")
    objectives = {}
    for label, front in fronts.items():
        table, name = _load(front, (GENES,), f"front {label!r}", RENAMED_IN["front.csv"])
        columns = objective_columns(table.columns)
        if len(columns) != 2:
            raise ValueError(f"{name} has objective columns {columns}; expected two besides {GENES!r}: 1 - mIoU, "
                             "then latency or cost (as `moseg search` writes front.csv)")
        objectives[label] = _numeric(table, columns, name)[columns].to_numpy(float)
    return objectives


def _archive_objectives(archive: Table, what: str) -> np.ndarray:
    """The objectives of each row of an `archive.csv` in `eval` order, NaN for failed rows."""
    table, name = _load(archive, ARCHIVE_COLUMNS, what, RENAMED_IN["archive.csv"])
    table = _numeric(table, ("eval",), name).sort_values("eval", ignore_index=True)
    ok = table["status"] == "ok"
    if not ok.any():
        return np.full((len(table), 1), np.nan)
    objectives = []
    for i, cell in table.loc[ok, OBJECTIVES].items():
        try:
            f = json.loads(cell)
            values = np.asarray(f, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"{name}: column {OBJECTIVES!r} holds {cell!r} in ok row {i}; expected a JSON list of "
                             "numbers") from None
        if values.ndim != 1 or not len(values) or not np.isfinite(values).all():
            raise ValueError(f"{name}: column {OBJECTIVES!r} holds {cell!r} in ok row {i}; expected a JSON list of "
                             "finite numbers")
        objectives.append(values)
    if len({len(f) for f in objectives}) > 1:
        raise ValueError(f"{name}: the {OBJECTIVES!r} lists of its ok rows have different lengths; expected one per "
                         "objective")
    F = np.full((len(table), len(objectives[0])), np.nan)
    F[ok.to_numpy()] = objectives
    return F


def _reference(F: np.ndarray, ref_point: Sequence[float] | None) -> np.ndarray:
    """`ref_point` checked against the number of objectives of F, or the default `reference_point(F)`."""
    if ref_point is None:
        return reference_point(F)
    ref = np.asarray(ref_point, dtype=float)
    if ref.shape != (F.shape[1],):
        raise ValueError(f"ref_point {np.atleast_1d(ref).tolist()} has {ref.size} values; expected {F.shape[1]}, one "
                         "per objective")
    if not np.isfinite(ref).all():
        raise ValueError(f"ref_point {ref.tolist()}: expected finite numbers, one per objective")
    return ref


def _wrapped(text: str, width: int = 48) -> str:
    """`text` broken into lines that fit the single-column figure width at the style's font size."""
    return "\n".join(textwrap.fill(line, width) for line in text.splitlines())


def _identity_line(ax: Axes, values: np.ndarray) -> None:
    """A dashed y = x line over the range of `values`, with equal x and y limits."""
    low, high = float(np.min(values)), float(np.max(values))
    pad = 0.05 * (high - low) if high > low else max(abs(high), 1.0) * 0.05
    limits = (low - pad, high + pad)
    ax.plot(limits, limits, linestyle="--", color="0.4", linewidth=0.8, marker="none")
    ax.set(xlim=limits, ylim=limits)
