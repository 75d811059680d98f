from __future__ import annotations

import pytest

from ferry import InvalidInput, ModelRef
from ferry.registry.refs import Version


@pytest.mark.parametrize(
    ("text", "name", "version", "alias"),
    [
        ("churn", "churn", None, None),
        ("churn:1.4.0", "churn", Version(1, 4, 0), None),
        ("churn:v1.4.0", "churn", Version(1, 4, 0), None),
        ("churn@production", "churn", None, "production"),
        ("a_b-9@canary-2", "a_b-9", None, "canary-2"),
    ],
)
def test_parse(text, name, version, alias):
    ref = ModelRef.parse(text)
    assert (ref.name, ref.version, ref.alias) == (name, version, alias)
    assert str(ref) == text.replace(":v", ":")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty model reference"),
        ("Churn", "invalid model name"),
        ("churn:1.4", "invalid version"),
        ("churn:01.0.0", "invalid version"),
        ("churn@", "invalid alias"),
        ("churn@1st", "invalid alias"),
        ("../../etc/passwd", "invalid model name"),
    ],
)
def test_parse_refuses(text, message):
    with pytest.raises(InvalidInput, match=message):
        ModelRef.parse(text)


def test_versions_order_numerically():
    assert Version.parse("1.10.0") > Version.parse("1.9.0")
    assert sorted(map(Version.parse, ["2.0.0", "1.10.0", "1.2.3"])) == [
        Version(1, 2, 3), Version(1, 10, 0), Version(2, 0, 0),
    ]  # fmt: skip
    assert Version(1, 4, 2).next_minor() == Version(1, 5, 0)
    assert Version(1, 4, 2).next_major() == Version(2, 0, 0)


def test_both_version_and_alias_is_refused():
    with pytest.raises(InvalidInput, match="both a version and an alias"):
        ModelRef("churn", version=Version(1, 0, 0), alias="production")
