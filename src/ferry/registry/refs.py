"""References to models: ``churn``, ``churn:1.4.0``, ``churn@production``.

A reference is a small immutable value; parsing validates every part, so a name that reaches
the file system has already been checked against :data:`NAME_PATTERN`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

from ferry.errors import InvalidInput

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
ALIAS_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
VERSION_PATTERN = re.compile(r"^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$")


def check_name(name: str) -> str:
    """Return ``name`` if it is a valid model name, else raise :class:`InvalidInput`."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise InvalidInput(
            f"invalid model name {name!r}: use 1-64 lowercase letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
    return name


def check_alias(alias: str) -> str:
    """Return ``alias`` if it is a valid alias, else raise :class:`InvalidInput`."""
    if not isinstance(alias, str) or not ALIAS_PATTERN.match(alias):
        raise InvalidInput(
            f"invalid alias {alias!r}: use 1-64 lowercase letters, digits, '-' or '_', "
            "starting with a letter"
        )
    return alias


@total_ordering
@dataclass(frozen=True)
class Version:
    """A semantic version ``major.minor.patch``; ordered numerically, not as text."""

    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str) -> Version:
        """Parse ``"1.4.0"``; anything else raises :class:`InvalidInput`."""
        match = VERSION_PATTERN.match(text) if isinstance(text, str) else None
        if match is None:
            raise InvalidInput(f"invalid version {text!r}: expected MAJOR.MINOR.PATCH, e.g. 1.4.0")
        major, minor, patch = (int(part) for part in match.groups())
        return cls(major, minor, patch)

    def next_minor(self) -> Version:
        """The version after this one when the inputs stay the same."""
        return Version(self.major, self.minor + 1, 0)

    def next_major(self) -> Version:
        """The version after this one when the input schema changed."""
        return Version(self.major + 1, 0, 0)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return (self.major, self.minor, self.patch) < (other.major, other.minor, other.patch)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


FIRST_VERSION = Version(1, 0, 0)


@dataclass(frozen=True)
class ModelRef:
    """A parsed reference: a model name plus at most one of a version or an alias."""

    name: str
    version: Version | None = None
    alias: str | None = None

    def __post_init__(self) -> None:
        check_name(self.name)
        if self.alias is not None:
            check_alias(self.alias)
        if self.version is not None and self.alias is not None:
            raise InvalidInput(f"reference {self} names both a version and an alias; pick one")

    @classmethod
    def parse(cls, text: str) -> ModelRef:
        """Parse ``name``, ``name:1.2.0`` or ``name@alias``."""
        if not isinstance(text, str) or not text:
            raise InvalidInput("empty model reference: use NAME, NAME:VERSION or NAME@ALIAS")
        if "@" in text:
            name, _, alias = text.partition("@")
            return cls(check_name(name), alias=check_alias(alias))
        if ":" in text:
            name, _, version = text.partition(":")
            return cls(check_name(name), version=Version.parse(version.removeprefix("v")))
        return cls(check_name(text))

    @property
    def is_latest(self) -> bool:
        """True when the reference means "the newest version"."""
        return self.version is None and self.alias is None

    def __str__(self) -> str:
        if self.alias is not None:
            return f"{self.name}@{self.alias}"
        if self.version is not None:
            return f"{self.name}:{self.version}"
        return self.name
