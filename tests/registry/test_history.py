from __future__ import annotations

from ferry.registry.catalog_session import AliasMove
from ferry.registry.history import rollback_target, target_stack


def move(kind: str, to: str) -> AliasMove:
    return AliasMove("production", kind, None, to, "t", "me", None)


def test_sets_push_and_rollbacks_pop():
    moves = [move("set", "1"), move("set", "2"), move("set", "3"), move("rollback", "2")]
    assert target_stack(moves) == ["1", "2"]
    assert rollback_target(moves, lambda v: True) == "1"


def test_repeated_set_of_the_same_version_is_one_entry():
    assert target_stack([move("set", "1"), move("set", "1"), move("set", "2")]) == ["1", "2"]


def test_deleted_versions_are_skipped():
    moves = [move("set", "1"), move("set", "2"), move("set", "3")]
    assert rollback_target(moves, lambda v: v != "2") == "1"
    assert rollback_target(moves, lambda v: v == "3") is None


def test_rollback_that_skipped_entries_pops_them():
    moves = [move("set", "1"), move("set", "2"), move("set", "3"), move("rollback", "1")]
    assert target_stack(moves) == ["1"]
    assert rollback_target([], lambda v: True) is None
