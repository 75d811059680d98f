"""What a user declares about a model that cannot describe itself: an ONNX file's task, and
which of its outputs are the task's (``label=...,probabilities=...``).

Given to ``ferry register --task/--outputs`` or ``Registry.register(task=, outputs=)``, or
carried by the graph itself as the metadata properties ``ferry.task`` and ``ferry.outputs``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ferry.errors import InvalidInput
from ferry.flavors.tasks import OUTPUT_NAMES, TASKS

TASK_PROPERTY = "ferry.task"
OUTPUTS_PROPERTY = "ferry.outputs"
_ALIASES = {"label": "predictions", "labels": "predictions", "probability": "probabilities"}


@dataclass(frozen=True)
class Declared:
    """A declared task (None: let the flavor tell) and task output → model output names."""

    task: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, task: str | None, outputs: Mapping[str, str] | None) -> Declared:
        """Check a declaration: a known task, known output names (``label`` = predictions)."""
        if task is not None and task not in TASKS:
            raise InvalidInput(f"unknown task {task!r}; choose one of {list(TASKS)}")
        mapped: dict[str, str] = {}
        for key, value in (outputs or {}).items():
            name = _ALIASES.get(key, key)
            if name not in OUTPUT_NAMES:
                raise InvalidInput(
                    f"unknown output {key!r} in outputs; name one of "
                    f"{['label', *OUTPUT_NAMES]} = the model's output name"
                )
            if not isinstance(value, str) or not value:
                raise InvalidInput(f"output {key!r} must name one of the model's outputs")
            mapped[name] = value
        return cls(task, mapped)

    @classmethod
    def from_properties(cls, properties: Mapping[str, str]) -> Declared:
        """The declaration a graph carries in its metadata properties, if any."""
        pairs = properties.get(OUTPUTS_PROPERTY, "")
        outputs = dict(pair.split("=", 1) for pair in pairs.split(",") if "=" in pair)
        return cls.parse(properties.get(TASK_PROPERTY), outputs)

    def __bool__(self) -> bool:
        return self.task is not None or bool(self.outputs)
