"""The server image, checked around the build (no Docker engine runs here).

hadolint lints the Dockerfile; the tests read its instructions and assert what the image promises:
stages, a non-root user, pinned dependencies in a layer apart from the source, a health check, and
a model chosen at run time by FERRY_MODEL.
"""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "deploy" / "docker"
IMAGE_EXTRAS = ("serve", "onnx", "postgres", "s3")
DOCKERFILES = sorted(DOCKER.glob("Dockerfile*"))
"""The generic image and any variant beside it (a baked one): each is linted and runs non-root."""


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction, continuation lines joined."""

    keyword: str
    arguments: str


def read_dockerfile(path: Path) -> list[list[Instruction]]:
    """The instructions of each build stage, in order (stage 0 holds the global ARGs)."""
    text = re.sub(r"\\\n", " ", path.read_text())
    stages: list[list[Instruction]] = [[]]
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, arguments = line.partition(" ")
        if keyword.upper() == "FROM":
            stages.append([])
        stages[-1].append(Instruction(keyword.upper(), " ".join(arguments.split())))
    return stages


def expand_arguments(text: str, dockerfile: Path) -> str:
    """``text`` with each ``${ARG}`` replaced by that build argument's default."""
    defaults = {
        name: value
        for stage in read_dockerfile(dockerfile)
        for i in stage
        if i.keyword == "ARG"
        for name, _, value in [i.arguments.partition("=")]
    }
    return re.sub(r"\$\{(\w+)\}", lambda match: defaults.get(match[1], match[0]), text)


def pins() -> dict[str, Version]:
    found: dict[str, Version] = {}
    for line in (DOCKER / "constraints.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==([0-9][^\s;]*)", line.strip())
        assert match, f"constraints.txt: {line!r} is not an exact pin NAME==VERSION"
        name = canonicalize_name(match[1])
        assert name not in found, f"constraints.txt pins {name} twice"
        found[name] = Version(match[2])
    return found


def image_requirements() -> list[Requirement]:
    """ferry's own requirements for the extras the image installs."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    listed = list(project["dependencies"])
    for extra in IMAGE_EXTRAS:
        listed += project["optional-dependencies"][extra]
    return [Requirement(text) for text in listed]


def requires(requirement: Requirement) -> list[Requirement]:
    """What an installed distribution needs, with the markers of the asked extras evaluated."""
    wanted = ["", *sorted(requirement.extras)]
    needed = []
    for text in importlib.metadata.requires(requirement.name) or []:
        dependency = Requirement(text)
        marker = dependency.marker
        if marker is None or any(marker.evaluate({"extra": extra}) for extra in wanted):
            needed.append(dependency)
    return needed


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_hadolint_passes(dockerfile: Path) -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run(
        [str(hadolint), "--failure-threshold", "info", str(dockerfile)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_generic_image_is_built_in_stages() -> None:
    stages = read_dockerfile(DOCKER / "Dockerfile")[1:]
    assert len(stages) >= 2, "the image must be multi-stage"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_the_server_runs_as_a_non_root_user(dockerfile: Path) -> None:
    final = read_dockerfile(dockerfile)[-1]
    base = final[0].arguments.split()[0]
    users = [i.arguments for i in final if i.keyword == "USER"]
    if (
        not users and "ferry" in base.lower()
    ):  # a variant built FROM the generic image keeps its user
        return
    assert users, f"{dockerfile.name}: the final stage sets no USER: the server would run as root"
    user = users[-1].split(":")[0]
    assert user.isdigit() and int(user) != 0, f"USER {user!r}: use a numeric non-root uid"


def test_dependencies_are_pinned_and_installed_before_the_source_is_copied() -> None:
    stages = read_dockerfile(DOCKER / "Dockerfile")[1:]
    deps = next(stage for stage in stages if "AS deps" in stage[0].arguments)
    assert not any(i.keyword == "COPY" and "src" in i.arguments.split() for i in deps)
    installs = [i.arguments for i in deps if i.keyword == "RUN" and "pip install" in i.arguments]
    assert any("--requirement /tmp/constraints.txt" in run for run in installs), installs
    final = [i.arguments for i in stages[-1] if i.keyword == "COPY"]
    venv = next(n for n, args in enumerate(final) if args.startswith("--from=deps"))
    ferry = next(n for n, args in enumerate(final) if args.startswith("--from=wheel"))
    assert venv < ferry, "ferry itself must be a layer after its dependencies"


def test_the_health_check_asks_the_server_and_the_model_comes_from_ferry_model() -> None:
    final = read_dockerfile(DOCKER / "Dockerfile")[-1]
    [check] = [i.arguments for i in final if i.keyword == "HEALTHCHECK"]
    assert "/v2/health/ready" in check
    [command] = [i.arguments for i in final if i.keyword == "CMD"]
    assert command.startswith('["ferry", "serve"')
    assert "@" not in command, "the model is chosen at run time by FERRY_MODEL, not baked in"
    env = " ".join(i.arguments for i in final if i.keyword == "ENV")
    assert "FERRY_MODEL" not in env


def test_every_pin_meets_the_lower_bound_in_pyproject() -> None:
    pinned = pins()
    for requirement in image_requirements():
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"constraints.txt does not pin {name}, which ferry needs"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"constraints.txt pins {name}=={pinned[name]}, outside {requirement}"
        )


def test_the_pins_cover_everything_the_image_needs() -> None:
    """Walks the dependency tree of the installed packages: a missing pin would fail `pip check`."""
    pinned = pins()
    seen: set[str] = set()
    pending = image_requirements()
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"constraints.txt misses {name} (needed via {requirement})"
        if name in seen:
            continue
        seen.add(name)
        installed = Version(importlib.metadata.version(requirement.name))
        if installed == pinned[name]:  # the pinned version's own requirements are known here
            for dependency in requires(requirement):
                pin = pinned.get(canonicalize_name(dependency.name))
                assert pin is None or dependency.specifier.contains(pin, prereleases=True), (
                    f"{name}=={installed} needs {dependency}, but constraints.txt pins {pin}"
                )
                pending.append(dependency)
        else:
            pending += requires(requirement)


def test_the_build_context_holds_only_what_the_images_copy() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", "ignore everything, then allow what the images copy"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    copied = {
        expand_arguments(source, dockerfile)
        for dockerfile in DOCKERFILES
        for stage in read_dockerfile(dockerfile)
        for i in stage
        if i.keyword == "COPY" and not i.arguments.startswith("--from")
        for source in i.arguments.split()[:-1]
        if not source.startswith("--")  # --chown=, --chmod=
    }
    assert copied <= allowed, f"the Dockerfile copies {copied - allowed}, which .dockerignore drops"


def test_the_baked_image_serves_its_bundle_as_a_non_root_user() -> None:
    stages = read_dockerfile(DOCKER / "Dockerfile.baked")
    final = stages[-1]
    assert final[0].arguments == "${BASE_IMAGE}", "the baked image extends the generic one"
    assert [i.arguments for i in final if i.keyword == "COPY"] == ["${BUNDLE} /bundle"]
    assert "FERRY_BUNDLE=/bundle" in " ".join(i.arguments for i in final if i.keyword == "ENV")
    user = [i.arguments for i in final if i.keyword == "USER"][-1].split(":")[0]
    assert user.isdigit() and int(user) != 0
    [check] = [i.arguments for i in final if i.keyword == "HEALTHCHECK"]
    assert "/v2/health/ready" in check
    [command] = [i.arguments for i in final if i.keyword == "CMD"]
    assert command.startswith('["ferry", "serve"') and "@" not in command
    assert expand_arguments("${BUNDLE}", DOCKER / "Dockerfile.baked") == "bundle"  # .dockerignore
