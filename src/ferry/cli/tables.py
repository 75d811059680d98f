"""The CSV and Parquet files users hand to commands, read the same way by each command.

Every column name must be unique: pandas quietly renames a repeated CSV header (``amount``,
``amount.1``), so a file whose columns are ambiguous would be scored or compared on whichever
copy happened to come first. The header is read on its own to catch that.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

from ferry.errors import InvalidInput

if TYPE_CHECKING:  # pandas loads only when a command reads a file (CLI start-up)
    import pandas as pd

T = TypeVar("T")

CSV_SEPARATORS = {".csv": ",", ".tsv": "\t", ".txt": ","}
PARQUET_SUFFIXES = (".parquet", ".pq")


def read_table(path: Path, *, fast: bool = False) -> pd.DataFrame:
    """A CSV/TSV or Parquet file as a DataFrame; anything else is a one-line error.

    ``fast`` reads CSV with pyarrow's parser, which also infers timestamps: right for drift,
    where types only need to match each other, not for scoring, where they meet a schema.
    """
    import pandas as pd

    if not path.is_file():
        raise InvalidInput(f"{str(path)!r} does not exist or is not a file")
    suffix = path.suffix.lower()
    if suffix in CSV_SEPARATORS:
        separator = CSV_SEPARATORS[suffix]
        header = _unreadable_as_input(path, lambda: _csv_header(path, separator))
        refuse_repeats(header, path.name)
        engine: Literal["c", "pyarrow"] = "pyarrow" if fast else "c"
        return _unreadable_as_input(path, lambda: pd.read_csv(path, sep=separator, engine=engine))
    if suffix in PARQUET_SUFFIXES:
        frame = _unreadable_as_input(path, lambda: pd.read_parquet(path))
        refuse_repeats((str(name) for name in frame.columns), path.name)
        return frame
    raise InvalidInput(f"cannot read {path.name}: use a .csv, .tsv or .parquet file")


def _unreadable_as_input(path: Path, read: Callable[[], T]) -> T:
    """Run ``read``; a file the parser cannot take becomes one line naming the file."""
    try:
        return read()
    except (OSError, ValueError) as error:  # UnicodeDecodeError is a ValueError
        raise InvalidInput(f"cannot read {path.name}: {error}") from error


def refuse_repeats(names: Iterable[str], source: str) -> None:
    """A column name given twice is an error naming it (and every other repeated one)."""
    # Blank names are not repeats: pandas names each one apart ("Unnamed: 0", "Unnamed: 1").
    repeated = sorted(name for name, count in Counter(names).items() if count > 1 and name)
    if repeated:
        raise InvalidInput(
            f"{source} has repeated column names {repeated}: each column needs a unique name"
        )


def _csv_header(path: Path, separator: str) -> list[str]:
    """The first row of a CSV file, parsed with its quoting (empty for an empty file)."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return next(csv.reader(handle, delimiter=separator), [])
