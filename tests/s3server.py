"""A real S3 server (s3rver, from npm) on 127.0.0.1 for the object-storage tests.

Its fixtures are registered for the whole tree in ``tests/conftest.py`` (the registry's, the
server's and the Spark jobs' S3 tests share one server per run).

``scripts/test`` installs it into ``tests/s3/node_modules``; the fixture does the same when it is
missing. Without node and npm the S3 tests are skipped, loudly, naming what to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

S3_TOOLS = Path(__file__).resolve().parent / "s3"
S3RVER = S3_TOOLS / "node_modules" / ".bin" / "s3rver"
BUCKET = "ferry-test"


@dataclass(frozen=True)
class S3Server:
    """A running s3rver: its endpoint, credentials and one bucket."""

    endpoint: str
    key: str = "S3RVER"
    secret: str = "S3RVER"
    bucket: str = BUCKET

    def environ(self) -> dict[str, str]:
        """ferry's own settings for this server (no ``AWS_*`` variable needed)."""
        return {
            "FERRY_S3_ENDPOINT_URL": self.endpoint,
            "FERRY_S3_KEY": self.key,
            "FERRY_S3_SECRET": self.secret,
            "FERRY_S3_REGION": "us-east-1",
        }


def _installed() -> Path:
    if S3RVER.exists():
        return S3RVER
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.skip(
            "S3 TESTS SKIPPED: node and npm are not installed, so s3rver cannot run; "
            "install nodejs and npm (e.g. apt-get install nodejs npm) to run them"
        )
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(S3_TOOLS)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"npm could not install s3rver: {done.stderr[-2000:]}"
    return S3RVER


def _legacy_ciphers() -> dict[str, str]:
    """s3rver signs its listing continuation tokens with DES, which OpenSSL 3 (Node 17+) offers
    only through its legacy provider: without it every truncated listing (S3's max-keys, as
    s3fs's exists() asks for) answers 500. Older Node refuses the flag, and needs none."""
    node = shutil.which("node")
    version = subprocess.run([node or "node", "--version"], capture_output=True, text=True)
    major = version.stdout.strip().lstrip("v").split(".")[0]
    if version.returncode != 0 or not major.isdigit() or int(major) < 17:
        return {}
    return {"NODE_OPTIONS": "--openssl-legacy-provider"}


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """s3rver on a free port of 127.0.0.1, with an empty bucket, for the whole session."""
    command = [str(_installed()), "-d", str(tmp_path_factory.mktemp("s3rver")),
               "-a", "127.0.0.1", "-p", "0", "--configure-bucket", BUCKET]  # fmt: skip
    environ = {**os.environ, **_legacy_ciphers()}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environ
    )
    assert process.stdout is not None
    endpoint = None
    for line in process.stdout:
        if "listening on" in line:
            endpoint = f"http://{line.rsplit(' ', 1)[-1].strip()}"
            break
    assert endpoint is not None, "s3rver exited before it listened"
    drain = threading.Thread(target=process.stdout.read, daemon=True)  # its request log
    drain.start()
    try:
        yield S3Server(endpoint)
    finally:
        process.terminate()
        process.wait(timeout=30)
        drain.join(timeout=5)
        process.stdout.close()


@pytest.fixture
def s3(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """The S3 server, configured through ferry's variables only (every AWS_* one removed)."""
    for variable in [name for name in os.environ if name.startswith("AWS_")]:
        monkeypatch.delenv(variable)
    for variable, value in s3_server.environ().items():
        monkeypatch.setenv(variable, value)
    return s3_server
