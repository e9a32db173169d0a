"""Read a user's table (CSV or Parquet) as text, with the separator sniffed when not given.

CSV cells are read as text, never guessed by pandas: :mod:`credo.tabular.parse`
decides what is a number (so ``"83.70%"`` or ``"$1,200"`` become numbers, and
training and scoring parse the same way). Parquet columns keep their types.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from credo.tabular.errors import TableError

#: ``--sep`` spellings for separators that are awkward to type.
SEPARATOR_NAMES: dict[str, str] = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|",
                                   "space": r"\s+", "whitespace": r"\s+"}
WHITESPACE = r"\s+"
_CANDIDATES = ",;\t| "
_SNIFF_BYTES = 64 * 1024
_ENCODINGS = ("utf-8-sig", "latin-1")


@dataclass(frozen=True)
class ReadOptions:
    """How a CSV is split: ``sep`` None = sniff; ``header`` False = columns named c1..cN."""

    sep: str | None = None
    header: bool = True


def separator(option: str | None) -> str | None:
    """The separator a ``--sep`` value means (None: sniff)."""
    if option is None or option == "":
        return None
    return SEPARATOR_NAMES.get(option.lower(), option)


def sniff_separator(sample: str) -> str:
    """The separator of a CSV sample: ``,`` ``;`` tab ``|`` or runs of whitespace.

    csv.Sniffer picks the character that splits every sample line into the same
    number of fields (it understands quoting); a space, or lines that split on
    runs of spaces into the same number (>1) of fields, mean "whitespace
    separated", as in the UCI files. Anything else reads as ``,``.
    """
    lines = [line for line in sample.splitlines()[:50] if line.strip()]
    if len(lines) > 1 and not sample.endswith("\n"):
        lines = lines[:-1]  # the sample may cut the last line short
    try:
        found = csv.Sniffer().sniff("\n".join(lines), delimiters=_CANDIDATES).delimiter
    except csv.Error:
        found = " " if len({len(line.split()) for line in lines}) == 1 and len(lines[0].split()) > 1 else ","
    return WHITESPACE if found == " " else found


def read_table(path: Path, options: ReadOptions = ReadOptions()) -> pd.DataFrame:
    """The table at ``path``: Parquet by suffix, otherwise delimited text read as strings.

    Raises :class:`TableError` (one line, names the file and the problem) for a
    missing, empty or unreadable file.
    """
    if not path.exists():
        raise TableError(f"{path}: no such file")
    if path.is_dir():
        raise TableError(f"{path}: is a directory, not a file")
    if path.suffix.lower() in (".parquet", ".pq"):
        frame = _read_parquet(path)
        if not options.header:
            frame.columns = [f"c{i}" for i in range(1, frame.shape[1] + 1)]
    else:
        frame = _read_delimited(path, options)
    if frame.shape[1] == 0 or frame.shape[0] == 0:
        raise TableError(f"{path}: the file holds no data rows")
    frame.columns = [str(c).strip() for c in frame.columns]
    _refuse_repeated_names(path, list(frame.columns))
    return frame


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a corrupt file
        raise TableError(f"{path}: not a readable Parquet file ({_first_line(exc)})") from exc


def _read_delimited(path: Path, options: ReadOptions) -> pd.DataFrame:
    for encoding in _ENCODINGS:
        try:
            return _read_text(path, options, encoding)
        except UnicodeDecodeError:
            continue
    raise TableError(f"{path}: not a text file in UTF-8 or Latin-1")


def _read_text(path: Path, options: ReadOptions, encoding: str) -> pd.DataFrame:
    with path.open("r", encoding=encoding, newline="") as handle:
        sample = handle.read(_SNIFF_BYTES)
    if not sample.strip():
        raise TableError(f"{path}: the file is empty")
    if "\x00" in sample:
        raise TableError(f"{path}: a binary file, not CSV or Parquet")
    sep = options.sep or sniff_separator(sample)
    try:
        frame = pd.read_csv(
            path, sep=sep, header=0 if options.header else None, dtype=str, keep_default_na=False,
            encoding=encoding, skipinitialspace=sep != WHITESPACE, engine="python" if len(sep) > 1 else "c",
        )
    except pd.errors.EmptyDataError as exc:
        raise TableError(f"{path}: the file is empty") from exc
    except pd.errors.ParserError as exc:
        raise TableError(f"{path}: rows do not split into the same columns with separator {sep!r} "
                         f"({_first_line(exc)}); give --sep") from exc
    if options.header:
        _refuse_repeated_names(path, _header(sample, sep))
    else:
        frame.columns = [f"c{i}" for i in range(1, frame.shape[1] + 1)]
    return frame


def _header(sample: str, sep: str) -> list[str]:
    first = next((line for line in sample.splitlines() if line.strip()), "")
    if sep == WHITESPACE:
        return first.split()
    if len(sep) == 1:
        return [name.strip() for name in next(csv.reader([first], delimiter=sep), [])]
    return []  # a regular-expression separator: pandas' own names are all we have


def _refuse_repeated_names(path: Path, names: list[str]) -> None:
    """pandas renames a repeated column ``a`` to ``a.1``; a user's table must name each column once."""
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise TableError(f"{path}: column names repeat: {', '.join(repeated)}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


__all__ = ["ReadOptions", "SEPARATOR_NAMES", "WHITESPACE", "read_table", "separator", "sniff_separator"]
