"""The test tree's own shape: pytest imports test files by basename (rootdir import mode), so two
files with one name in different folders stop the whole collection."""

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).parent


def test_every_test_file_has_a_unique_basename() -> None:
    names = Counter(path.name for path in TESTS.rglob("test_*.py"))
    assert [name for name, count in names.items() if count > 1] == []
