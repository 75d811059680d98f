"""Where an alias goes on rollback, worked out from its recorded moves.

Moves form a stack: a ``set`` pushes its target, a ``rollback`` pops back to the target it
records. Rolling back twice therefore walks two steps back, instead of toggling between the
last two versions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ferry.registry.catalog_session import AliasMove


def target_stack(moves: Sequence[AliasMove]) -> list[str]:
    """The versions an alias would return to, oldest first; the last is its current target."""
    stack: list[str] = []
    for move in moves:
        if move.kind == "rollback":
            if stack:
                stack.pop()
            while stack and stack[-1] != move.to_version:
                stack.pop()
            if not stack:
                stack.append(move.to_version)
        elif not stack or stack[-1] != move.to_version:
            stack.append(move.to_version)
    return stack


def rollback_target(moves: Sequence[AliasMove], exists: Callable[[str], bool]) -> str | None:
    """The newest earlier target that still exists and differs from the current one."""
    stack = target_stack(moves)
    if not stack:
        return None
    current = stack[-1]
    for candidate in reversed(stack[:-1]):
        if candidate != current and exists(candidate):
            return candidate
    return None
