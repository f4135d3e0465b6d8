"""eniops' one version string: the installed package's metadata."""

from __future__ import annotations

from functools import cache


@cache
def version() -> str:
    """The installed eniops version (``0+unknown`` when run from a tree never installed)."""
    from importlib import metadata  # noqa: PLC0415  (only when asked: cold starts)

    try:
        return metadata.version("eniops")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def user_agent() -> str:
    """The user agent suffix that tells eniops' calls apart in CloudTrail."""
    return f"eniops/{version()}"
