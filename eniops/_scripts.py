"""The HA scripts shipped with eniops (keepalived notify scripts, OCF resource agents).

They are package data: `eniops ha-script NAME > /usr/local/bin/NAME` installs one.
"""

from __future__ import annotations

from importlib import resources

from ._errors import InvalidInput


def script_names() -> list[str]:
    """The scripts shipped with this version."""
    folder = resources.files("eniops") / "ha"
    return sorted(item.name for item in folder.iterdir() if not item.name.startswith(("_", ".")))


def script_text(name: str | None) -> str:
    """The text of script `name`; without a name, the list of scripts."""
    names = script_names()
    if name is None:
        return "\n".join(names)
    if name not in names:
        raise InvalidInput(f"no HA script {name!r}; there are: {', '.join(names)}")
    return (resources.files("eniops") / "ha" / name).read_text()
