"""One exception tree for ferry.

Domain code raises these; only the CLI and the HTTP app turn them into exit codes or status
codes. Every message names the bad value and, where there is one, the next step.
"""

from __future__ import annotations


class FerryError(Exception):
    """Base of every error ferry raises on purpose."""


class InvalidInput(FerryError, ValueError):
    """A value given by a user (name, reference, version, file, option) is not acceptable."""


class NotFound(FerryError, LookupError):
    """A model, version, alias or file that was asked for does not exist."""


class AlreadyExists(FerryError):
    """Something that must be unique (a version number, a model file) is already taken."""


class Conflict(FerryError):
    """The operation is refused in the current state (e.g. deleting a version an alias uses)."""


class RunInProgress(Conflict):
    """A training run (or monitor step) of the model holds its run lock; ``run_id`` is that
    run's id, or None while a monitor step has not started one."""

    def __init__(self, message: str, run_id: str | None = None) -> None:
        super().__init__(message)
        self.run_id = run_id


class IntegrityError(FerryError):
    """Stored bytes no longer match the hash recorded at registration; nothing was loaded."""


class CompatibilityError(FerryError):
    """The installed libraries differ from those the model was saved with (strict loading)."""


class Unsupported(FerryError):
    """The model or the store cannot do what was asked (e.g. predict_proba on a regressor)."""


class NotReady(FerryError):
    """A component was used before it was prepared (an unfitted detector, a loading model)."""


class CompatibilityWarning(UserWarning):
    """The installed libraries differ from those the model was saved with."""


class TooLarge(InvalidInput):
    """A request or file is bigger than the configured limit."""


class Unauthorized(FerryError):
    """A protected operation was called without the right token."""


class StorageUnavailable(FerryError):
    """Storage ferry must write to (the prediction log, feedback) refuses the write right now."""


class Forbidden(FerryError):
    """A request refused whatever its token: a form posted from another site (no CSRF token,
    or a foreign ``Origin``)."""
