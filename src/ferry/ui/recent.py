"""The newest requests from the prediction log, a page at a time, for the Live page.

Only what the writer has flushed is visible (``FERRY_LOG_FLUSH_SECONDS``), and only the last day
is opened, so a long log costs nothing here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ferry.logstore.store import LogStore

PAGE_SIZE = 20
WINDOW = timedelta(days=1)


@dataclass(frozen=True)
class LoggedRequest:
    """One logged prediction row."""

    time: str
    model: str
    version: str
    request_id: str
    prediction: str
    confidence: float | None


@dataclass(frozen=True)
class RecentPage:
    """One page of logged rows, newest first."""

    rows: list[LoggedRequest]
    page: int
    more: bool


def recent_requests(
    store: LogStore, models: list[str], page: int, now: datetime | None = None
) -> RecentPage:
    """Page ``page`` (from 1) of the last day's logged rows of ``models``, newest first."""
    import pandas as pd  # the Live page's log reader only: the server starts without pandas

    from ferry.training.prediction_log import (
        CONFIDENCE,
        PREDICTION,
        REQUEST_ID,
        TIME,
        VERSION,
        read_window,
    )

    end = now or datetime.now(UTC)
    frames = []
    for model in models:
        frame = read_window(store, model, end - WINDOW, end).frame
        if not frame.empty:
            frames.append(frame.assign(ferry_model=model))
    if not frames:
        return RecentPage([], page, False)
    rows = pd.concat(frames, ignore_index=True).sort_values(TIME, ascending=False, kind="stable")
    start = (page - 1) * PAGE_SIZE
    chosen = rows.iloc[start : start + PAGE_SIZE]
    found = [
        LoggedRequest(
            time=pd.Timestamp(row[TIME]).isoformat(),
            model=str(row["ferry_model"]),
            version=str(row[VERSION]),
            request_id=str(row[REQUEST_ID]),
            prediction=str(row[PREDICTION]),
            confidence=None if pd.isna(row[CONFIDENCE]) else float(row[CONFIDENCE]),
        )
        for _, row in chosen.iterrows()
    ]
    return RecentPage(found, page, start + PAGE_SIZE < len(rows))
