"""Helpers for the end-to-end suites: a moto server on 127.0.0.1 and the CLI as a process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(server, *args, env=None):
    """Run `python -m eniops --endpoint-url SERVER ARGS` with fake credentials."""
    environment = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "eniops", "--endpoint-url", server, *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
