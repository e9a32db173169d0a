"""Reading a table: separators sniffed or given, header or none, Parquet by suffix, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from credo.tabular import ReadOptions, TableError, read_table, separator
from credo.tabular.read import WHITESPACE, sniff_separator

GERMAN = Path(__file__).parents[1] / "data" / "german.data"


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_the_separator_is_sniffed(tmp_path: Path, sep: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(sep.join(["a", "b", "c"]) + "\n" + "\n".join(sep.join(["1", "x y", "3.5%"]) for _ in range(5)))
    frame = read_table(path)
    assert list(frame.columns) == ["a", "b", "c"] and frame.shape == (5, 3)
    assert frame["b"].tolist() == ["x y"] * 5 and frame["c"].tolist() == ["3.5%"] * 5


def test_whitespace_separated_without_header_is_c1_to_cn() -> None:
    frame = read_table(GERMAN, ReadOptions(header=False))
    assert frame.shape == (1000, 21)
    assert list(frame.columns) == [f"c{i}" for i in range(1, 22)]
    assert frame.loc[0, "c1"] == "A11" and frame.loc[0, "c5"] == "1169" and frame.loc[0, "c21"] == "1"


def test_runs_of_spaces_are_one_separator() -> None:
    assert sniff_separator("a  b   c\n1 2 3\n4  5 6\n") == WHITESPACE


def test_a_given_separator_wins(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("a;b,c\n1;2,3\n4;5,6\n")
    assert list(read_table(path, ReadOptions(sep=";")).columns) == ["a", "b,c"]
    assert list(read_table(path, ReadOptions(sep=",")).columns) == ["a;b", "c"]
    assert separator("tab") == "\t" and separator("whitespace") == WHITESPACE and separator(None) is None


def test_parquet_by_suffix_keeps_types(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pd.DataFrame({"x": [1.5, 2.5], "y": [0, 1]}).to_parquet(path)
    frame = read_table(path)
    assert frame["x"].dtype == "float64" and frame["y"].tolist() == [0, 1]


@pytest.mark.parametrize(("content", "problem"), [
    (b"", "empty"), (b"\n\n  \n", "empty"), (b"a,b,c\n", "no data rows"),
    (b"PK\x03\x04\x00\x00binary", "binary"), (b"a,a\n1,2\n", "column names repeat"),
])
def test_bad_files_are_one_line_errors(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(TableError, match=problem) as caught:
        read_table(path)
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)


def test_missing_file_and_broken_parquet(tmp_path: Path) -> None:
    with pytest.raises(TableError, match="no such file"):
        read_table(tmp_path / "nope.csv")
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet at all")
    with pytest.raises(TableError, match="not a readable Parquet file"):
        read_table(broken)
