"""Version numbering rules, checked through real registrations (both catalogs)."""

from __future__ import annotations

import pytest

from ferry import NotFound


def test_an_older_parent_with_the_same_schema_still_bumps_the_newest_minor(
    registry, pipeline, cancer
):
    for _ in range(3):
        registry.register(pipeline, "churn", input_example=cancer[0])
    version = registry.register(pipeline, "churn", input_example=cancer[0], parent="1.0.0")
    assert version.version == "1.3.0" and version.metadata["parent_version"] == "1.0.0"


def test_an_unknown_parent_is_refused(registry, pipeline, cancer):
    registry.register(pipeline, "churn", input_example=cancer[0])
    with pytest.raises(NotFound, match="parent version churn:4.0.0 does not exist"):
        registry.register(pipeline, "churn", input_example=cancer[0], parent="4.0.0")
