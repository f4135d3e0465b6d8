"""Helpers for the end-to-end suites: a moto server on 127.0.0.1 and the CLI as a process."""

from __future__ import annotations

import contextlib
import io
import os
import socket
import subprocess
import sys
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


STRICT = Path(__file__).resolve().parent / "strict"


def strict_env(env=None):
    """The environment of an eniops subprocess: fake credentials, the strict EC2 layer."""
    return {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "ENIOPS_TEST_STRICT": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(STRICT), os.environ.get("PYTHONPATH")])),
        **(env or {}),
    }


def run(server, *args, env=None):
    """Run `python -m eniops --endpoint-url SERVER ARGS` on the strict layer; what it prints
    with `--output json` (a result, a readiness or an error) is checked against the schema
    that ships with eniops."""
    environment = strict_env(env)
    done = subprocess.run(
        [sys.executable, "-m", "eniops", "--endpoint-url", server, *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
    if "json" in args and "--query" not in args:
        _fits_its_kind(done.stdout)
    return done


def _fits_its_kind(printed):
    import json

    from output_schema import fits

    try:
        document = json.loads(printed)
    except ValueError:
        return
    if not isinstance(document, dict):
        return
    kind = next((k for k, key in _KINDS if key in document), None)
    if kind is not None:
        fits(kind, document)


#: How a printed document tells its kind: by a key only it has.
_KINDS = (
    ("error", "error"),
    ("readiness", "ready"),
    ("evacuation", "moved"),
    ("result", "operation"),
)


def run_in_process(argv):
    """`eniops ARGV` in this process against a dead endpoint: (exit code, stderr, stdout)."""
    from eniops import cli

    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            code = cli.main(["--endpoint-url", f"http://127.0.0.1:{free_port()}", *argv])
        except SystemExit as leaving:
            code = leaving.code
    return code, err.getvalue(), out.getvalue()
