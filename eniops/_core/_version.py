"""eniops' one version string: the installed package's metadata."""

from __future__ import annotations

from functools import cache


@cache
def version() -> str:
    """The installed eniops version (``0+unknown`` when run from a tree never installed)."""
    # Lazy: importlib.metadata (19 ms) only when the version is asked for: `import eniops` and a
    # Lambda's cold start skip it.
    from importlib import metadata  # noqa: PLC0415

    try:
        return metadata.version("eniops")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def user_agent() -> str:
    """The user agent suffix that tells eniops' calls apart in CloudTrail."""
    return f"eniops/{version()}"
