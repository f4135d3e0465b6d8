"""A user's script, type-checked with `mypy --strict` against eniops as installed: the
operations' keywords, their results, `describe`'s typed description and the errors."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

GOOD = """
import eniops

result = eniops.remap_eip(
    "eipalloc-0123456789abcdef0", to_instance="i-0123456789abcdef0", timeout=30.0
)
changed: bool = result.changed
found = eniops.describe("i-0123456789abcdef0", region="eu-west-1")
if found["kind"] == "instance":
    slots: int = found["free"]["eni_slots"]
    for eni in found["enis"]:
        index: int | None = eni["device_index"]
        ipv6: list[str] = [a["address"] for a in eni["ipv6_addresses"]]
elif found["kind"] == "eni":
    check: bool = found["source_dest_check"]
else:
    public: str = found["public_ip"]
try:
    eniops.failover_instance("i-0123456789abcdef0", to_instance="i-0fedcba9876543210")
except eniops.Conflict as err:
    reason: str = err.reason
except (eniops.ImdsError, eniops.Interrupted, eniops.PartialFailure):
    raise
"""

BAD = """
import eniops

eniops.remap_eip("eipalloc-0123456789abcdef0", to_instnace="i-0123456789abcdef0")
eniops.move_eni("eni-0123456789abcdef0", to_instance="i-0", timeout="soon")
found = eniops.describe("i-0123456789abcdef0")
enis = found["enis"]
"""


def _mypy(tmp_path, source):
    script = tmp_path / "user.py"
    script.write_text(textwrap.dedent(source))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--config-file",
            "/dev/null",
            "--cache-dir",
            str(tmp_path / ".mypy_cache"),
            str(script),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        # eniops as this checkout holds it (an editable install is an import hook, which
        # mypy does not follow)
        env={**os.environ, "MYPYPATH": str(Path(__file__).resolve().parents[2])},
        timeout=600,
        check=False,
    )
    return done.returncode, done.stdout


@pytest.mark.newest
def test_a_users_script_type_checks_and_its_mistakes_do_not(tmp_path):
    pytest.importorskip("mypy")
    code, out = _mypy(tmp_path, GOOD)
    assert code == 0, out
    code, out = _mypy(tmp_path, BAD)
    assert code == 1
    assert 'Unexpected keyword argument "to_instnace"' in out
    assert '"timeout"' in out  # a str where the deadline's seconds go
    assert '"enis"' in out  # not every description has ENIs: narrow by "kind" first


def test_the_description_types_are_what_describe_returns(world):
    """Each description's keys (and each ENI line's) are its type's: every required key,
    nothing the type does not name."""
    import eniops

    def fits(value, kind):
        keys = set(value)
        assert kind.__required_keys__ <= keys, kind.__required_keys__ - keys
        assert keys <= kind.__required_keys__ | kind.__optional_keys__, (
            keys - kind.__required_keys__ - kind.__optional_keys__
        )

    lab = world.lab
    instance = eniops.describe(lab.active, ec2=world.client)
    fits(instance, eniops.InstanceDescription)
    for line in instance["enis"]:
        fits(line, eniops.EniLine)
    fits(eniops.describe(lab.floating_eni, ec2=world.client), eniops.EniDescription)
    fits(eniops.describe(lab.eip, ec2=world.client), eniops.AddressDescription)


def test_use_settings_takes_every_field_of_settings_and_no_other():
    """`use_settings(**changes)` is typed by `SettingsChanges`: its keys are the fields of
    `Settings`, so a field added to one and not the other fails here."""
    import dataclasses
    import typing

    from eniops._core._settings import Settings, SettingsChanges, use_settings

    fields = {f.name for f in dataclasses.fields(Settings)}
    assert set(SettingsChanges.__optional_keys__) == fields
    assert not SettingsChanges.__required_keys__
    hints = typing.get_type_hints(SettingsChanges)
    by_field = typing.get_type_hints(Settings)
    assert {name: hints[name] for name in fields} == {name: by_field[name] for name in fields}
    with use_settings(progress=None) as settings:
        assert settings.progress is None
    with pytest.raises(TypeError), use_settings(nope=1):  # type: ignore[call-arg]
        pass
