"""The HA files shipped with eniops: the Pacemaker agent, the keepalived and Patroni notify
script, the re-assertion timer's systemd units and example configurations.

They are package data: `eniops ha-script NAME > /usr/local/bin/NAME` installs one.
"""

from __future__ import annotations

from importlib import resources

from ._errors import InvalidInput

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
