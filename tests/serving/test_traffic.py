"""Routing by sticky key: the share each variant gets, and keys that stay where they were."""

from __future__ import annotations

import pytest

from ferry.serving.traffic import CANDIDATE, PRIMARY, Route, Split

KEYS = [f"key-{index}" for index in range(10_000)]


@pytest.mark.parametrize("percent", [5, 25, 50])
def test_a_canary_gets_its_share_within_a_point(percent):
    routes = [Split("canary", percent).route(key) for key in KEYS]
    share = sum(route.answer == CANDIDATE for route in routes) / len(KEYS)
    assert abs(share - percent / 100) < 0.01


def test_keys_on_the_candidate_stay_there_as_it_grows():
    small = {key for key in KEYS if Split("canary", 5).route(key).answer == CANDIDATE}
    large = {key for key in KEYS if Split("canary", 50).route(key).answer == CANDIDATE}
    assert small and small <= large


def test_canary_copies_to_the_primary_and_shadow_copies_to_the_candidate():
    key = next(k for k in KEYS if Split("canary", 5).route(k).answer == CANDIDATE)
    assert Split("canary", 5).route(key) == Route(CANDIDATE, compare=True)
    assert Split("shadow", 5).route(key) == Route(PRIMARY, compare=True)
    assert Split("canary", 0).route(key) == Route(PRIMARY, compare=False)
    assert all(Split("canary", 100).route(k).answer == CANDIDATE for k in KEYS[:100])
