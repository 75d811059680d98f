"""Column work spread over threads.

numpy sorts, searches and counts with the GIL released, so threads give real parallelism on the
heavy part of ``fit`` and ``check`` without copying frames into other processes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_columns(function: Callable[[T], R], items: Sequence[T], n_jobs: int) -> list[R]:
    """``[function(item) for item in items]``, on up to ``n_jobs`` threads, in order."""
    workers = min(n_jobs, len(items))
    if workers <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ferry-drift") as pool:
        return list(pool.map(function, items))
