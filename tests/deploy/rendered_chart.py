"""The Helm chart rendered offline (Helm's Go SDK through helm-python-sdk), for the deploy tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "ferry"

Manifest = dict[str, Any]


def render_chart(values: dict[str, Any]) -> list[Manifest]:
    """Every manifest ``helm install demo -n ml`` would create with ``values``."""
    with helm.Chart.load(CHART) as chart:
        files = chart.render(values, name="demo", namespace="ml", is_install=True)
    return [
        document
        for name, text in sorted(files.items())
        if name.endswith(".yaml")
        for document in yaml.safe_load_all(text)
        if document
    ]


def one(manifests: list[Manifest], kind: str) -> Manifest:
    """The only manifest of ``kind``."""
    [found] = [m for m in manifests if m["kind"] == kind]
    return found


def env_of(container: Manifest) -> dict[str, Any]:
    """A container's environment: name → value, or its ``valueFrom`` source."""
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}
