"""The parts a ModelServer is assembled from, each made from the serving settings.

Kept out of ``server.py`` because making a part is not serving: the server holds the parts and
runs them, and the rules for making them (where the cache lives, which stream the prediction log
writes, which name each reference answers to) are read here, one function a part, and fail at
construction when the settings contradict themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from ferry.config import RegistrySettings, ServingSettings, replica_id
from ferry.errors import InvalidInput
from ferry.logstore.retention import LogRetention
from ferry.logstore.store import LogStore
from ferry.registry.refs import ModelRef
from ferry.serving.age import AgeLimit
from ferry.serving.bundle import Bundle
from ferry.serving.cache import ModelCache
from ferry.serving.capture import PredictionLog
from ferry.serving.live import Backoff, LiveModel
from ferry.serving.metrics import ServingMetrics
from ferry.serving.registry_link import RegistryLink


def model_cache(settings: ServingSettings, source: RegistryLink | Bundle) -> ModelCache:
    """The loader's cache: a bundle is its own (compiled graph included), else the cache dir."""
    if isinstance(source, Bundle):
        return ModelCache(source.root)
    return ModelCache(settings.cache_dir or source.settings.home / "cache")


def prediction_log(
    settings: ServingSettings, where: RegistrySettings, metrics: ServingMetrics
) -> PredictionLog:
    """The log writer at ``FERRY_LOG_DIR`` (default the registry's home), this replica's stream."""
    store = LogStore(where.log_url, where.storage_options)
    return PredictionLog(
        store,
        replica=replica_id(settings.replica_id),
        sample_rate=settings.log_sample_rate,
        flush_rows=settings.log_flush_rows,
        flush_seconds=settings.log_flush_seconds,
        events=metrics,
        retention=LogRetention(settings.log_retention_days, settings.log_max_bytes),
        max_pending_rows=settings.log_max_pending_rows,
    )


def live_models(
    settings: ServingSettings, clock: Callable[[], datetime] | None
) -> dict[str, LiveModel]:
    """A :class:`LiveModel` for each served reference, by the name requests use for it; a
    reference named twice is refused."""
    age_limit = (
        AgeLimit(settings.max_model_age_days, settings.max_model_age)
        if settings.max_model_age_days is not None
        else None
    )
    live: dict[str, LiveModel] = {}
    for ref in settings.models:
        model = LiveModel(
            ref, backoff=Backoff(settings.poll_interval), age_limit=age_limit, clock=clock,
            key=_key(ref, live),
        )  # fmt: skip
        if model.key in live or any(model.ref == other.ref for other in live.values()):
            raise InvalidInput(f"{ref!r} is named twice in {list(settings.models)}")
        live[model.key] = model
    return live


def default_model(settings: ServingSettings) -> str:
    """The model MLflow's ``/invocations`` answers for: FERRY_DEFAULT_MODEL, else the first."""
    served = [ModelRef.parse(ref).name for ref in settings.models]
    wanted = settings.default_model
    if wanted is None:
        return served[0]
    if wanted not in served:
        raise InvalidInput(f"FERRY_DEFAULT_MODEL={wanted!r} is not served here; served: {served}")
    return wanted


def _key(ref: str, served: Mapping[str, LiveModel]) -> str:
    """The name requests use for ``ref``: the model's name for its first reference, the whole
    reference (``churn@canary``) for a further one."""
    name = ModelRef.parse(ref).name
    return str(ModelRef.parse(ref)) if name in served else name
