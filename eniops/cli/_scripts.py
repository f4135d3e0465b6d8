"""The files shipped with eniops: the HA files (the Pacemaker agent, the keepalived and
Patroni notify script, the re-assertion timer's systemd units and example configurations) and
the reference.

They are package data: `eniops ha-script NAME > /usr/local/bin/NAME` installs one; `eniops docs`
prints the reference.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .._core._errors import InvalidInput

#: Other names a script is known by where it is used: Patroni's callback is eniops-notify.
ALIASES = {"patroni-on-role-change": "eniops-notify"}


def script_names() -> list[str]:
    """The files shipped with this version, and the aliases."""
    folder = resources.files("eniops") / "ha"
    shipped = [item.name for item in folder.iterdir() if not item.name.startswith(("_", "."))]
    return sorted([*shipped, *ALIASES])


def script_text(name: str | None) -> str:
    """The text of script `name`; without a name, the list of scripts."""
    names = script_names()
    if name is None:
        return "\n".join(names)
    if name not in names:
        raise InvalidInput(f"no HA script {name!r}; there are: {', '.join(names)}")
    return (resources.files("eniops") / "ha" / ALIASES.get(name, name)).read_text()


def reference_text() -> str:
    """The reference (every argument, reason code, exit code, event and tag): the copy the
    package ships, else (a clone, an editable install) the repository's `docs/reference.md`."""
    shipped = resources.files("eniops") / "reference.md"
    if shipped.is_file():
        return shipped.read_text(encoding="utf-8")

    beside = Path(__file__).resolve().parents[2] / "docs" / "reference.md"  # eniops/cli/ -> repo
    if beside.is_file():
        return beside.read_text(encoding="utf-8")
    raise InvalidInput("the reference is not installed with this copy of eniops")
