"""A real ``ferry serve`` process on 127.0.0.1, for the end-to-end tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

FERRY = str(Path(sys.executable).parent / "ferry")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    """A running server, its URL and its log lines (read as the test waits for them)."""

    process: subprocess.Popen[str]
    url: str
    port: int

    def wait_for(self, text: str, limit: int = 2000) -> str:
        """Read log lines until one contains ``text`` (the server says when it is ready or swapped)."""
        assert self.process.stderr is not None
        for _ in range(limit):
            line = self.process.stderr.readline()
            if not line:
                raise AssertionError(f"server exited before logging {text!r}")
            if text in line:
                return line
        raise AssertionError(f"{text!r} not logged in {limit} lines")


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[object]:
    started: list[ServerProcess] = []

    def start(home: Path, *refs: str, **env: str) -> ServerProcess:  # env: extra FERRY_* settings
        port = free_port()
        environ = {**os.environ, "FERRY_HOME": str(home), "FERRY_POLL_INTERVAL": "0.05", **env}
        process = subprocess.Popen(
            [FERRY, "serve", *refs, "--port", str(port)], env=environ, text=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        server = ServerProcess(process, f"http://127.0.0.1:{port}", port)
        started.append(server)
        return server

    yield start
    for server in started:
        server.process.terminate()
        server.process.wait(timeout=30)
        if server.process.stderr is not None:
            server.process.stderr.close()
