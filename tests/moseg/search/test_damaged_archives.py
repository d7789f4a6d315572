"""A damaged archive.csv: a torn last row is evaluated again and the rest kept; any other damage is named with
the file, the line and what was expected, before anything is evaluated."""

import io

import numpy as np
import pandas as pd
import pytest
from search_problems import FAST, XL, XU, Counted, zdt1_like

from moseg.search import random_search, run_search
from moseg.search.archive import COLUMNS
from moseg.util.csvlog import CsvLog


@pytest.fixture
def finished(tmp_path):
    """A finished budget-25 search and its archive lines (header first)."""
    run_search(zdt1_like, XL, XU, 25, seed=0, out_dir=tmp_path, n_doe=20, n_infill=5, **FAST)
    return tmp_path, (tmp_path / "archive.csv").read_text().splitlines(keepends=True)


def test_a_row_torn_by_a_kill_is_evaluated_again_and_the_rest_kept(finished):
    folder, lines = finished
    reference = pd.read_csv(folder / "archive.csv")
    (folder / "archive.csv").write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])  # no newline
    again = Counted()
    result = run_search(again, XL, XU, 25, seed=0, out_dir=folder, n_doe=20, n_infill=5, **FAST)
    assert again.calls == 1 and len(result.X) == 25
    repaired = pd.read_csv(folder / "archive.csv")
    pd.testing.assert_frame_equal(repaired.drop(columns="seconds"), reference.drop(columns="seconds"))


def test_a_torn_row_in_the_design_is_evaluated_again(tmp_path):
    random_search(zdt1_like, XL, XU, 10, seed=0, out_dir=tmp_path, n_doe=10)
    path = tmp_path / "archive.csv"
    path.write_text(path.read_text()[:-7])
    again = Counted()
    random_search(again, XL, XU, 10, seed=0, out_dir=tmp_path, n_doe=10)
    assert again.calls == 1 and len(pd.read_csv(path)) == 10


def damage(line: str, column: str, value: str) -> str:
    """`line` of the archive with `column` replaced by `value` (the genes and objectives cells are quoted or spaced)."""
    row = pd.read_csv(io.StringIO(",".join(COLUMNS) + "\n" + line), dtype=str, keep_default_na=False).iloc[0].to_dict()
    row[column] = value
    return ",".join(f'"{row[c]}"' for c in COLUMNS) + "\n"


@pytest.mark.parametrize(("edit", "message"), [
    (lambda line: line.replace(",", ",,", 1),
     r"line 5: 9 fields where the header has 8 \(eval, iteration, genes, objectives,"),
    (lambda line: damage(line, "eval", "three"), r"line 5, column 'eval' = 'three': invalid literal for int"),
    (lambda line: damage(line, "genes", "1 2 3"), r"line 5: 3 genes where line 2 has 5"),
    (lambda line: damage(line, "genes", "1 2 x 4 5"), r"line 5, column 'genes' = '1 2 x 4 5'"),
    (lambda line: damage(line, "objectives", "[0.1, 0.2, 0.3]"), r"line 5: 3 objectives where line 2 has 2"),
    (lambda line: damage(line, "objectives", "[0.1, "), r"line 5, column 'objectives' = '\[0.1, '"),
    (lambda line: damage(line, "status", "done"), r"line 5, column 'status' = 'done': expected 'ok' with objectives"),
    (lambda line: damage(line, "genes", "9 9 9 9 12"), r"line 5: vector '9 9 9 9 12' is not within the problem's 5 "
                                                   r"variables"),
    (lambda line: damage(line, "genes", "0 0 0 0 0"),
     r"line \d+: vector '0 0 0 0 0' was already evaluated at line \d+"),
    (lambda line: damage(line, "seconds", "soon"), r"line 5, column 'seconds' = 'soon'"),
    (lambda line: damage(line, "slot", "first"), r"line 5, column 'slot' = 'first'"),
])
def test_a_damaged_row_is_named_before_anything_is_evaluated(finished, edit, message):
    folder, lines = finished
    lines[4] = edit(lines[4])
    (folder / "archive.csv").write_text("".join(lines))
    counted = Counted()
    with pytest.raises(ValueError, match=message) as err:
        run_search(counted, XL, XU, 30, seed=0, out_dir=folder, n_doe=20, n_infill=5, **FAST)
    assert str(folder / "archive.csv") in str(err.value) and counted.calls == 0


def test_the_csv_log_drops_only_a_torn_last_row_and_skips_blank_lines(tmp_path):
    path = tmp_path / "log.csv"
    log = CsvLog(path, ["a", "b"])
    log.append({"a": 1, "b": 2})
    log.append({"a": 3, "b": 4})
    path.write_text(path.read_text() + "\r\n5,")
    reopened = CsvLog(path, ["a", "b"])
    assert reopened.torn_row == "5," and reopened.rows() == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]
    reopened.append({"a": 5, "b": 6})
    assert [r["a"] for r in CsvLog(path, ["a", "b"]).rows()] == ["1", "3", "5"]
    assert CsvLog(path, ["a", "b"]).torn_row is None
    assert np.array_equal(pd.read_csv(path)["b"], [2, 4, 6])


@pytest.mark.parametrize(("name", "edit", "message"), [
    ("config.json", lambda text: text[: len(text) // 2], r"config.json is damaged \(JSONDecodeError: .*\); it records "
                                                          "the settings"),
    ("config.json", lambda text: "[]", r"config.json is damaged \(TypeError"),
    ("stats.csv", lambda text: text.replace("\n1,", "\none,", 1), r"stats.csv, line 3: iteration = 'one', expected "
                                                                 "an integer"),
    ("stats.csv", lambda text: text + "2,3\n", r"stats.csv, line \d+: 2 fields where the header has 10"),
])
def test_damaged_run_files_beside_the_archive_are_named(finished, name, edit, message):
    folder, _ = finished
    path = folder / name
    path.write_text(edit(path.read_text()))
    with pytest.raises(ValueError, match=message):
        run_search(Counted(), XL, XU, 30, seed=0, out_dir=folder, n_doe=20, n_infill=5, **FAST)


def test_a_stats_row_torn_by_a_kill_is_written_again(finished):
    folder, _ = finished
    reference = pd.read_csv(folder / "stats.csv")
    path = folder / "stats.csv"
    path.write_text(path.read_text()[:-9])
    again = Counted()
    run_search(again, XL, XU, 25, seed=0, out_dir=folder, n_doe=20, n_infill=5, **FAST)
    assert again.calls == 0
    repaired = pd.read_csv(path)
    assert list(repaired["iteration"]) == list(reference["iteration"])
    assert list(repaired["evaluations"]) == list(reference["evaluations"])


def test_an_archive_cut_at_any_byte_resumes_to_the_uninterrupted_archive_or_is_named(finished):
    """A kill may cut archive.csv anywhere (the append is not atomic on every filesystem): at each of 40 cut points
    spread over the file, the rerun either rebuilds the uninterrupted archive, evaluating only what was cut, or
    refuses naming the file; never a traceback from deep inside, never a lost or repeated evaluation."""
    folder, lines = finished
    whole = "".join(lines)
    reference = pd.read_csv(folder / "archive.csv").drop(columns="seconds")
    named = 0
    for cut in np.linspace(1, len(whole) - 1, 40).astype(int):
        (folder / "stats.csv").unlink(missing_ok=True)
        (folder / "predictions.csv").unlink(missing_ok=True)
        (folder / "archive.csv").write_text(whole[:cut])
        kept_rows = whole[:cut].count("\n") - 1  # complete rows after the header
        again = Counted()
        try:
            run_search(again, XL, XU, 25, seed=0, out_dir=folder, n_doe=20, n_infill=5, **FAST)
        except ValueError as error:
            assert "archive.csv" in str(error), (cut, str(error))
            named += 1
            continue
        assert again.calls == 25 - max(kept_rows, 0), (cut, again.calls, kept_rows)
        rebuilt = pd.read_csv(folder / "archive.csv").drop(columns="seconds")
        pd.testing.assert_frame_equal(rebuilt, reference)
    assert named <= 2  # at most a header cut so short that it is no header at all
