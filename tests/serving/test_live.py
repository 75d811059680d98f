"""LiveModel and follow_once: a pinned version that cannot load is retried with backoff and
logged once per change, not at every poll."""

from __future__ import annotations

import logging

import pytest

from ferry.config import ServingSettings
from ferry.serving.cache import ModelCache
from ferry.serving.live import Backoff, LiveModel, follow_once
from ferry.serving.loader import ModelLoader

pytestmark = pytest.mark.anyio


def test_backoff_doubles_up_to_its_cap_and_a_new_target_starts_over():
    backoff = Backoff(base=1.0, cap=4.0)
    assert [backoff.failed("m:1.0.0", 0.0) for _ in range(5)] == [1.0, 2.0, 4.0, 4.0, 4.0]
    assert not backoff.allows("m:1.0.0", 3.9) and backoff.allows("m:1.0.0", 4.0)
    assert backoff.allows("m:1.1.0", 0.0)
    assert backoff.failed("m:1.1.0", 0.0) == 1.0


async def test_a_pinned_version_that_cannot_load_backs_off_and_logs_once(
    tmp_path, cancer_registry, caplog
):
    loader = ModelLoader(
        cancer_registry, ModelCache(tmp_path / "cache"), ServingSettings(models=("x",))
    )
    model_file = cancer_registry.settings.home / "models" / "cancer" / "v1.0.0" / "model.skops"
    good = model_file.read_bytes()
    model_file.write_bytes(b"damaged" + good[7:])
    live = LiveModel("cancer:1.0.0", backoff=Backoff(base=1.0, cap=4.0))
    attempts: list[float] = []
    now = [0.0]

    def load(version):
        attempts.append(now[0])
        return loader.load(version)

    async def poll_at(moment: float) -> None:
        now[0] = moment
        await follow_once(
            live, cancer_registry.resolve, load, lambda *_: None, clock=lambda: now[0]
        )

    for moment in (0, 0.5, 1, 2, 2.9, 3, 6.9, 7, 10, 11):
        await poll_at(moment)
    assert attempts == [0, 1, 3, 7, 11]  # waits 1, 2, 4, then 4 (the cap)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "IntegrityError" in errors[0].getMessage()
    assert live.status == "failed" and "model.skops" in (live.error or "")

    model_file.unlink()  # another problem: logged again, once
    await poll_at(15)
    await poll_at(19)
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 2

    model_file.write_bytes(good)  # repaired: the next allowed attempt serves it
    await poll_at(23)
    assert live.ready and live.current.version == "1.0.0" and live.backoff.failures == 0
