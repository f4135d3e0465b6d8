"""Run the pure and strict-layer tests on the lowest versions eniops declares (the test
command's full run leaves them to this, so that each test runs once).

    python scripts/floors.py          # makes .venv-floors on first use

The floors are read from pyproject.toml (each ``>=`` of the runtime dependencies and of the
``testing`` extra), installed exactly, and the suites that need no moto server run on them.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv-floors"
#: Test tools, not pinned: they do not ship with eniops.
TOOLS = ["pytest>=8", "hypothesis>=6", "pyyaml>=6", "jsonschema>=4.18"]


def floors(pyproject: str) -> list[str]:
    """`name==lowest` for every runtime dependency and the `testing` extra's moto."""
    runtime = re.search(r"^dependencies = \[(.*?)\]", pyproject, flags=re.S | re.M)
    testing = re.search(r"^testing = \[(.*)\]$", pyproject, flags=re.M)
    assert runtime is not None
    assert testing is not None
    pins = []
    for spec in re.findall(r'"([^"]+)"', runtime.group(1) + testing.group(1)):
        name, _, lowest = spec.partition(">=")
        if name.startswith("moto"):
            name = "moto[ec2,server]"
        pins.append(f"{name}=={lowest}")
    return pins


def main() -> int:
    pyproject = (ROOT / "pyproject.toml").read_text()
    pins = floors(pyproject)
    python = VENV / "bin" / "python"
    stamp = VENV / ".eniops-floors"
    want = hashlib.sha256(" ".join([*pins, *TOOLS]).encode()).hexdigest()
    if not python.exists() or not stamp.exists() or stamp.read_text() != want:
        print(f"setting up {VENV} with {', '.join(pins)} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        pip = [str(python), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run([*pip, *pins, *TOOLS], check=True)
        subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True)
        stamp.write_text(want)
    print(f"== floors: {', '.join(pins)}", flush=True)
    tests = [str(ROOT / "tests" / "pure"), str(ROOT / "tests" / "ops")]
    # Those marked `newest` need a tool the floors cannot install: the main run has them.
    command = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not newest"]
    return subprocess.run([*command, *tests], cwd=ROOT, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
