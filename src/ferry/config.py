"""Typed settings, read once from ``FERRY_*`` variables and handed down.

Nothing here runs at import time: the CLI (or a user) calls :meth:`RegistrySettings.from_env`
and passes the result to the components that need it.
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ferry.errors import InvalidInput

DEFAULT_HOME = Path("~/.ferry")
"""Where the registry lives when neither an argument nor ``FERRY_HOME`` says otherwise."""


@dataclass(frozen=True)
class RegistrySettings:
    """Where the registry keeps its catalog, its artifacts and the prediction log."""

    home: Path
    catalog_url: str
    artifacts_url: str
    log_url: str = ""
    """``FERRY_LOG_DIR``: a folder or fsspec URL for the prediction log (default: ``home``)."""
    storage_options: Mapping[str, Any] = field(default_factory=dict)
    """fsspec options for object-store URLs (endpoint, credentials), see :func:`storage_options`."""

    def __post_init__(self) -> None:
        if not self.log_url:
            object.__setattr__(self, "log_url", str(self.home))

    @classmethod
    def resolve(
        cls,
        home: str | Path | None = None,
        catalog: str | None = None,
        artifacts: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> RegistrySettings:
        """Explicit arguments win over ``FERRY_HOME``/``FERRY_CATALOG``/``FERRY_ARTIFACTS``."""
        env = os.environ if environ is None else environ
        home_path = Path(home or env.get("FERRY_HOME") or DEFAULT_HOME).expanduser().resolve()
        catalog_url = catalog or env.get("FERRY_CATALOG") or f"sqlite:///{home_path / 'ferry.db'}"
        artifacts_url = artifacts or env.get("FERRY_ARTIFACTS") or str(home_path)
        return cls(
            home=home_path,
            catalog_url=catalog_url,
            artifacts_url=artifacts_url,
            log_url=env.get("FERRY_LOG_DIR") or str(home_path),
            storage_options=storage_options(env),
        )


def storage_options(environ: Mapping[str, str]) -> dict[str, Any]:
    """fsspec options for object stores, from ferry's own variables, so a deployment can point
    at an S3-compatible server without ``AWS_*`` variables.

    ``FERRY_STORAGE_OPTIONS`` (a JSON object) is taken as is; ``FERRY_S3_ENDPOINT_URL``,
    ``FERRY_S3_KEY``, ``FERRY_S3_SECRET`` and ``FERRY_S3_REGION`` fill s3fs's options.
    """
    text = environ.get("FERRY_STORAGE_OPTIONS", "").strip()
    try:
        options = json.loads(text) if text else {}
    except json.JSONDecodeError as error:
        raise InvalidInput(f"FERRY_STORAGE_OPTIONS is not JSON: {error}") from None
    if not isinstance(options, dict):
        raise InvalidInput("FERRY_STORAGE_OPTIONS must be a JSON object")
    for variable, key in _S3_VARIABLES.items():
        if environ.get(variable):
            options[key] = environ[variable]
    if environ.get("FERRY_S3_REGION"):
        options.setdefault("client_kwargs", {})["region_name"] = environ["FERRY_S3_REGION"]
    return options


_S3_VARIABLES = {"FERRY_S3_ENDPOINT_URL": "endpoint_url", "FERRY_S3_KEY": "key",
                 "FERRY_S3_SECRET": "secret"}  # fmt: skip


def replica_id(given: str | None = None) -> str:
    """This server's name in log file names: ``given`` (``FERRY_REPLICA_ID``), else
    ``<hostname>-<pid>``, so replicas writing to one log location never collide."""
    raw = given or f"{socket.gethostname()}-{os.getpid()}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", raw).strip("_.-") or "replica"


LOW_CONFIDENCE = 0.6
"""A prediction whose confidence (the top class probability; a clusterer's ``confidence``) is
strictly below this is "low confidence". One default for the server's ``ferry_low_confidence``
count (``FERRY_LOW_CONFIDENCE``) and the monitor's alert (``[alerts] low_confidence``), so both
count the same rows. Not 0.5: a binary classifier's top probability never falls below it."""


COMPAT_MODES = ("strict", "warn", "off")
"""``FERRY_COMPAT``: refuse a version saved with other library versions than the backend that
loads it needs, serve it with a warning in health, or compare nothing (docs/serving.md)."""


@dataclass(frozen=True)
class ServingSettings:
    """How ``ferry serve`` runs; every field has a ``FERRY_*`` variable (docs/serving.md)."""

    models: tuple[str, ...] = ()
    default_model: str | None = None
    """The model ``/invocations`` answers for when several are served (default: the first)."""
    cache_dir: Path | None = None
    warmup_iterations: int = 10
    load: str = "eager"
    onnx: str = "auto"
    compat: str = "strict"
    api_token: str | None = None
    poll_interval: float = 1.0
    max_body_bytes: int = 10 * 1024 * 1024
    max_batch_size: int = 64
    max_batch_wait_ms: float = 1.0
    low_confidence: float = LOW_CONFIDENCE
    log_sample_rate: float = 1.0
    log_flush_rows: int = 50_000
    log_flush_seconds: float = 5.0
    max_model_age_days: float | None = None
    max_model_age: str = "alert"
    log_retention_days: float | None = None
    log_max_bytes: int | None = None
    log_max_pending_rows: int = 200_000
    replica_id: str | None = None

    def __post_init__(self) -> None:
        _choice("FERRY_LOAD", self.load, ("eager", "lazy"))
        _choice("FERRY_MAX_MODEL_AGE", self.max_model_age, ("refuse", "alert"))
        if self.max_model_age_days is not None and not self.max_model_age_days > 0:
            raise InvalidInput(
                f"FERRY_MAX_MODEL_AGE_DAYS must be more than 0, got {self.max_model_age_days}"
            )
        _choice("FERRY_ONNX", self.onnx, ("auto", "off"))
        _choice("FERRY_COMPAT", self.compat, COMPAT_MODES)
        if not 0.0 <= self.low_confidence <= 1.0:
            raise InvalidInput(
                f"FERRY_LOW_CONFIDENCE must be a probability in [0, 1], got {self.low_confidence}"
            )
        _at_least("FERRY_WARMUP_ITERATIONS", self.warmup_iterations, 0)
        _at_least("FERRY_POLL_INTERVAL", self.poll_interval, 0.01)
        _at_least("FERRY_MAX_BODY_BYTES", self.max_body_bytes, 1)
        _at_least("FERRY_MAX_BATCH_SIZE", self.max_batch_size, 1)
        _at_least("FERRY_MAX_BATCH_WAIT_MS", self.max_batch_wait_ms, 0)
        _at_least("FERRY_LOG_FLUSH_SECONDS", self.log_flush_seconds, 0.01)
        if self.api_token is not None and not self.api_token.strip():
            raise InvalidInput(
                "FERRY_API_TOKEN is set but empty, which would leave the admin routes open: "
                "set a secret token, or unset the variable to run without one"
            )
        _at_least("FERRY_LOG_MAX_PENDING_ROWS", self.log_max_pending_rows, 0)
        if self.log_retention_days is not None:
            _at_least("FERRY_LOG_RETENTION_DAYS", self.log_retention_days, 0)
        if self.log_max_bytes is not None:
            _at_least("FERRY_LOG_MAX_BYTES", self.log_max_bytes, 0)
        if not 0.0 <= self.log_sample_rate <= 1.0:
            raise InvalidInput(
                f"FERRY_LOG_SAMPLE_RATE must be in [0, 1], got {self.log_sample_rate}"
            )

    @classmethod
    def from_env(
        cls, models: tuple[str, ...] = (), environ: Mapping[str, str] | None = None
    ) -> ServingSettings:
        """Settings from ``FERRY_*`` variables; ``models`` (CLI arguments) win over FERRY_MODEL."""
        env = os.environ if environ is None else environ
        listed = models or tuple(
            m.strip() for m in env.get("FERRY_MODEL", "").split(",") if m.strip()
        )
        values: dict[str, Any] = {"models": listed}
        for name, (variable, kind) in _SERVING_VARIABLES.items():
            if variable in env:
                values[name] = _parse(variable, env[variable], kind)
        return cls(**values)


_SERVING_VARIABLES: dict[str, tuple[str, type]] = {
    "default_model": ("FERRY_DEFAULT_MODEL", str),
    "cache_dir": ("FERRY_CACHE_DIR", Path),
    "warmup_iterations": ("FERRY_WARMUP_ITERATIONS", int),
    "load": ("FERRY_LOAD", str),
    "onnx": ("FERRY_ONNX", str),
    "compat": ("FERRY_COMPAT", str),
    "api_token": ("FERRY_API_TOKEN", str),
    "poll_interval": ("FERRY_POLL_INTERVAL", float),
    "max_body_bytes": ("FERRY_MAX_BODY_BYTES", int),
    "max_batch_size": ("FERRY_MAX_BATCH_SIZE", int),
    "max_batch_wait_ms": ("FERRY_MAX_BATCH_WAIT_MS", float),
    "low_confidence": ("FERRY_LOW_CONFIDENCE", float),
    "log_sample_rate": ("FERRY_LOG_SAMPLE_RATE", float),
    "log_flush_seconds": ("FERRY_LOG_FLUSH_SECONDS", float),
    "max_model_age_days": ("FERRY_MAX_MODEL_AGE_DAYS", float),
    "max_model_age": ("FERRY_MAX_MODEL_AGE", str),
    "log_retention_days": ("FERRY_LOG_RETENTION_DAYS", float),
    "log_max_bytes": ("FERRY_LOG_MAX_BYTES", int),
    "log_max_pending_rows": ("FERRY_LOG_MAX_PENDING_ROWS", int),
    "replica_id": ("FERRY_REPLICA_ID", str),
}


def _parse(variable: str, text: str, kind: type) -> Any:
    try:
        return kind(text)
    except ValueError:
        raise InvalidInput(f"{variable}={text!r} is not a valid {kind.__name__}") from None


def _choice(variable: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InvalidInput(f"{variable}={value!r}: choose one of {', '.join(allowed)}")


def _at_least(variable: str, value: float, minimum: float) -> None:
    if value < minimum:
        raise InvalidInput(f"{variable} must be at least {minimum}, got {value}")
