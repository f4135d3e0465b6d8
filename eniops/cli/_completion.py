"""Shell completion for `eniops` in bash, zsh and fish, by argcomplete from the parser.

The shell asks the `eniops` command itself (argcomplete's protocol: `_ARGCOMPLETE` in the
environment), so completion always matches the installed version. Values complete too:
`--output`'s choices, the profiles of the AWS config and credentials files, the regions of
botocore's data, the HA scripts' names. argcomplete is imported only when a shell asks.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterator

from . import _aws_files

SHELLS = ("bash", "zsh", "fish")


def script(shell: str) -> str:
    """The script that registers eniops' completion in `shell`."""
    # Lazy: argcomplete (5 ms) only when a shell asks for completions or their script.
    from argcomplete.shell_integration import shellcode  # noqa: PLC0415

    return str(shellcode(["eniops"], shell=shell))


def answer(parser: argparse.ArgumentParser) -> None:
    """When a shell asks for completions, answer and exit; otherwise return at once."""
    if "_ARGCOMPLETE" not in os.environ:
        return
    # Lazy: argcomplete (5 ms) only when a shell asks for completions or their script.
    import argcomplete  # noqa: PLC0415

    completers: dict[str, Callable[..., list[str]]] = {
        "profile": _profiles,
        "region": _regions,
        "name": _scripts,
    }
    for action in _actions(parser):
        if action.dest in completers:
            action.completer = completers[action.dest]  # type: ignore[attr-defined]
    argcomplete.autocomplete(parser)


def _actions(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    for action in parser._actions:
        yield action
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _actions(sub)


def _profiles(**_: object) -> list[str]:
    """The profiles of the AWS config and credentials files."""

    return sorted({*_aws_files.CONFIG.profiles(), *_aws_files.CREDENTIALS.profiles()})


def _regions(**_: object) -> list[str]:
    # Lazy: boto3, botocore and tenacity (16 ms) load only to complete --region; every TAB press
    # starts a process.
    from .._gateway import known_regions  # noqa: PLC0415

    return sorted(known_regions())


def _scripts(**_: object) -> list[str]:
    # Lazy: importlib.resources (5 ms) loads only to complete a shipped file's name.
    from ._scripts import script_names  # noqa: PLC0415

    return script_names()
