"""The packages a platform team would install: what they hold, their metadata, that they work."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """The sdist and the wheel, built as a release would build them."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return out


def _wheel(dist):
    (wheel,) = dist.glob("*.whl")
    return wheel


def test_the_wheel_holds_the_package_and_nothing_else(dist):
    """The package, its HA scripts, sample events, the schema of its JSON output, the
    instance types' table and py.typed; no tests, scripts or docs."""
    names = zipfile.ZipFile(_wheel(dist)).namelist()
    tops = {name.split("/")[0] for name in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"eniops"}
    _holds(
        names,
        "eniops/py.typed",
        "eniops/ha/eniops-ocf",
        "eniops/cli/__init__.py",
        "eniops/events/ec2-state-change-stopped.json",
        "eniops/schemas/output.schema.json",
        "eniops/_state/instance_types.json",
        "eniops/reference.md",
        "eniops/testing/__init__.py",
    )
    inside = zipfile.ZipFile(_wheel(dist)).read("eniops/reference.md").decode()
    assert inside == (ROOT / "docs" / "reference.md").read_text()


def _holds(names, *wanted):
    """Every one of `wanted` is among an archive's `names`, and no cache is."""
    for name in wanted:
        assert name in names, name
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_the_metadata(dist):
    """License, classifiers, the Python floor and the extras' floors are declared; no project
    URL points at the package index, which has no release of eniops."""
    archive = zipfile.ZipFile(_wheel(dist))
    name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
    metadata = Parser().parsestr(archive.read(name).decode())
    assert metadata["License-Expression"] == "Apache-2.0"
    assert any(n.endswith("licenses/LICENSE") for n in archive.namelist())
    assert "Typing :: Typed" in metadata.get_all("Classifier")
    assert not [u for u in metadata.get_all("Project-URL") or [] if "pypi.org" in u]
    assert metadata["Requires-Python"] == ">=3.10"
    requires = metadata.get_all("Requires-Dist")
    testing = [r for r in requires if 'extra == "testing"' in r]
    assert any(re.match(r"moto\[[a-z,]*\bec2\b[a-z,]*\]>=5\.1\.22", r) for r in testing), testing


def test_twine_check_strict(dist):
    """The sdist and the wheel pass `twine check --strict` (the README renders on PyPI)."""
    files = [str(p) for p in dist.iterdir()]
    done = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *files],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_wheel_ships_the_ha_scripts_executable(dist):
    """The agent and the notify script keep their mode in the wheel (pip installs it)."""
    archive = zipfile.ZipFile(_wheel(dist))
    modes = {
        info.filename.rsplit("/", 1)[1]: (info.external_attr >> 16) & 0o777
        for info in archive.infolist()
        if info.filename.startswith("eniops/ha/")
    }
    assert modes["eniops-ocf"] == modes["eniops-notify"] == 0o755, modes
    assert modes["keepalived.conf.example"] & 0o111 == 0


def test_the_installed_wheel_works(dist, tmp_path):
    """Installed from the wheel: the command runs and ships its HA scripts and events."""
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(_wheel(dist)),
        ],
        check=True,
        timeout=300,
    )
    code = (
        "import eniops, eniops.aws_lambda as l, eniops.cli._scripts as s; "
        "print(eniops.__file__); print(len(s.script_names())); "
        "e = l.sample_event('ec2-state-change-stopped', 'i-0123456789abcdef0'); "
        "print(e['detail']['state']); print(s.reference_text().split()[1])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        check=True,
    )
    where, scripts, state, titled = done.stdout.split()
    assert titled == "eniops"  # `# eniops reference`, from the wheel, no clone beside it
    assert where.startswith(str(target))
    assert int(scripts) == len(list((ROOT / "eniops" / "ha").iterdir())) + 1  # + an alias
    assert state == "stopped"
    entry = (next(target.glob("eniops-*.dist-info")) / "entry_points.txt").read_text()
    assert "eniops = eniops.cli:run" in entry


def test_the_sdist_holds_what_deploys_and_tests_eniops(dist, tmp_path):
    """The source distribution carries the template, the reference, the tests, the scripts,
    the changelog and the security policy; no caches; and its template validates from the
    unpacked sdist (cfn-lint; `sam validate --lint` where SAM is installed)."""
    import shutil
    import tarfile

    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        archive.extractall(tmp_path, **safe)
    top = names[0].split("/")[0]
    inside = {name.split("/", 1)[1] for name in names if "/" in name}
    _holds(
        inside,
        "template.yaml",
        "CHANGELOG.md",
        "SECURITY.md",
        "docs/reference.md",
        "tests/conftest.py",
        "scripts/test.sh",
        "scripts/lambda_bundle.py",
        "eniops/__init__.py",
    )
    template = tmp_path / top / "template.yaml"
    lint = shutil.which("cfn-lint") or str(Path(sys.executable).parent / "cfn-lint")
    done = subprocess.run(
        [lint, str(template)], capture_output=True, text=True, check=False, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    if (ROOT / ".venv-sam" / "bin" / "sam").exists():  # set up by scripts/test.sh
        sam = ["bash", str(ROOT / "scripts" / "sam.sh"), "validate", "--lint"]
        done = subprocess.run(
            [*sam, "--template", str(template)],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
