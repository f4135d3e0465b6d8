"""The AWS CLI's shared config and credentials files, found as the AWS CLI finds them.

The command line reads them for what the AWS CLI would default to (`--output`) and for
completing `--profile`; botocore reads them itself for credentials and regions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class SharedFile:
    """One of the two files: the variable that names it, its default path, and how its
    sections name a profile (the config file's ``[profile name]``, its ``[default]``)."""

    variable: str
    default: str
    prefix: str

    def profiles(self) -> dict[str, dict[str, str]]:
        """Each profile's settings; none when the file is missing or unreadable (botocore
        reports a broken file when a client is built)."""
        # Lazy: configparser (1 ms) only when a profile's file is read.
        import configparser  # noqa: PLC0415

        parser = configparser.ConfigParser(interpolation=None)
        path = os.path.expanduser(os.environ.get(self.variable) or self.default)
        try:
            parser.read(path)
        except (configparser.Error, OSError, UnicodeDecodeError):
            return {}
        found: dict[str, dict[str, str]] = {}
        for section in parser.sections():
            if not self.prefix or section == "default":
                name = section
            elif section.startswith(self.prefix):
                name = section.removeprefix(self.prefix)
            else:
                continue  # [sso-session …], [services …]: not profiles
            found[name] = dict(parser[section])
        return found


CONFIG = SharedFile("AWS_CONFIG_FILE", "~/.aws/config", "profile ")
CREDENTIALS = SharedFile("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials", "")


def profile_name(given: str | None) -> str:
    """The profile the AWS CLI would use: the one given, else AWS_PROFILE, else
    AWS_DEFAULT_PROFILE, else ``default``."""
    return (
        given or os.environ.get("AWS_PROFILE") or os.environ.get("AWS_DEFAULT_PROFILE") or "default"
    )
