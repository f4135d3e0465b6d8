"""The `eniops` command's arguments, built from the operations' registry: each operation's
keyword arguments become options, its argument rules the exclusive and required groups, so
the command line cannot drift from the library."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn, TypeAlias, TypedDict

from .._core import _inputs
from .._core._errors import EXIT_MEANINGS
from ._options import GLOBALS, OPTIONS, POSITIONAL_HELP, POSITIONALS, Option, checked

if TYPE_CHECKING:
    from .._registry import OperationSpec

EXIT_USAGE = 2
EXIT_CODES = "exit codes (docs/reference.md says more):\n" + "".join(
    f"  {code:<9} {meaning}\n" for code, meaning in EXIT_MEANINGS
)


#: Where the commands are added: the top level's subcommands, or a group's (``eip``, ``eni``).
Commands: TypeAlias = "argparse._SubParsersAction[_Parser]"


class _Argument(TypedDict, total=False):
    """What `add_argument` is given for one option, besides its flags (an option that takes no
    value is given no type, metavar or choices: argparse refuses them for it)."""

    dest: str
    help: str
    action: str
    default: object
    metavar: str
    type: Callable[[str], object]
    choices: tuple[str, ...]
    required: bool


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors exit 2 with one line and no traceback."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"eniops: error: {message} (see eniops --help)\n")


def _add_globals(parser: argparse.ArgumentParser, *, top: bool, network: bool = True) -> None:
    """Global options; on commands they default to 'not given', so that either place works.
    A command that calls nothing (`network=False`) takes no option that configures a client."""
    for option in GLOBALS:
        if option.network and not network:
            continue
        kwargs: _Argument = {"dest": option.dest, "help": option.help, "action": option.action}
        kwargs["default"] = option.default if top else argparse.SUPPRESS
        if option.metavar is not None:
            kwargs["metavar"] = option.metavar
        if option.type is not None:
            kwargs["type"] = option.type
        if option.choices is not None:
            kwargs["choices"] = option.choices
        parser.add_argument(*option.flags, **kwargs)


def _holder(
    commands: Commands, groups: dict[str, Commands | None], spec: OperationSpec, *, whole: bool
) -> Commands | None:
    """Where the operation's command goes: the top level's commands, or its group's (`eip`,
    `eni`...), the group added when first met; None when its group is listed by name only.
    `groups` holds each group's commands (None: listed by name only)."""
    if len(spec.command) == 1:
        return commands
    group = spec.command[0]
    if group not in groups:
        listed = commands.add_parser(
            group, help=f"{group} commands", formatter_class=argparse.RawDescriptionHelpFormatter
        )
        groups[group] = (
            listed.add_subparsers(
                dest="action", required=True, parser_class=_Parser, metavar="ACTION"
            )
            if whole
            else None
        )
    return groups[group]


def _add_operation(
    commands: Commands, groups: dict[str, Commands | None], spec: OperationSpec, *, whole: bool
) -> None:
    """The operation's command; `whole=False`: its name and summary only (a command the
    command line does not choose, listed by `--help` and never parsed)."""
    holder = _holder(commands, groups, spec, whole=whole)
    word = spec.command[-1]
    if holder is None:
        return
    if not whole:
        commands.add_parser(word, help=spec.summary)
        return
    parser = holder.add_parser(
        word,
        help=spec.summary,
        description=spec.summary,
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(spec=spec.name)
    _add_positional(parser, spec)
    if spec.zone_form:
        _add_zone_form(parser)
    _add_keywords(parser, spec)
    if spec.mutating:
        _add_modes(parser)
    if "require_tag" in spec.common:
        parser.add_argument(
            "--require-tag",
            metavar="KEY[=VALUE]",
            help="every resource it would change must carry this tag",
            type=checked(_inputs.tag_guard, "--require-tag"),
        )
    _add_globals(parser, top=False)


def _add_keywords(parser: argparse.ArgumentParser, spec: OperationSpec) -> None:
    """An option per keyword; exactly one of each of the registry's groups (with
    `--to-self` in the group of the keyword it fills); its required ones required."""
    # Lazy: the registry (3 ms) loads only for the command the line names, never for --help.
    from .._registry import self_option_group  # noqa: PLC0415

    exclusive: dict[str, argparse._MutuallyExclusiveGroup] = {}
    for names in spec.one_of:
        group = parser.add_mutually_exclusive_group(required=not spec.zone_form)
        exclusive.update(dict.fromkeys(names, group))
    self_group = self_option_group(spec)
    # A group's members first and together (`--to-self` last among them), so that the usage
    # shows them as one choice: (--to-instance ID | --to-eni ID | --to-self).
    grouped = [n for names in spec.one_of for n in names if n in spec.keywords]
    for name in [*grouped, *(n for n in spec.keywords if n not in grouped)]:
        option = OPTIONS[name]
        kwargs = _argument(option, name)
        if name in spec.required:
            kwargs["required"] = True
        exclusive.get(name, parser).add_argument(option.flag, **kwargs)
        if self_group is not None and name == _last_of(spec, self_group[0]):
            exclusive[self_group[0]].add_argument(
                spec.self_flag,
                dest="to_self",
                action="store_true",
                help="this instance, found through IMDSv2 (honours AWS_EC2_METADATA_DISABLED)",
            )


def _add_positional(parser: argparse.ArgumentParser, spec: OperationSpec) -> None:
    """The operation's one positional argument: by position, or by its flag (`--zone`)."""
    if spec.positional_flag:
        parser.add_argument(
            spec.positional_flag,
            dest=spec.positional,
            required=True,
            metavar=spec.positional.upper(),
            help=POSITIONAL_HELP.get(spec.positional),
            type=checked(POSITIONALS[spec.positional], spec.positional_flag),
        )
    else:
        parser.add_argument(
            spec.positional,
            help=POSITIONAL_HELP.get(spec.positional),
            type=checked(POSITIONALS[spec.positional], spec.positional.upper()),
            # With a zone form, `--zone` stands in for it (the command line checks which).
            nargs="?" if spec.zone_form else None,
        )


def _add_zone_form(parser: argparse.ArgumentParser) -> None:
    """`--zone ZONE [--pairs FILE]`: the command for every pair of a zone instead."""
    parser.add_argument(
        "--zone",
        metavar="ZONE",
        help="every pair whose active instance is in this zone (name or id), instead",
        type=checked(POSITIONALS["zone"], "--zone"),
    )
    parser.add_argument("--pairs", **_pairs_option())


def _pairs_option() -> _Argument:
    return _argument(OPTIONS["pairs"], "pairs")


def _argument(option: Option, dest: str) -> _Argument:
    """What `add_argument` is given for an operation's option."""
    kwargs: _Argument = {"dest": dest, "help": option.help, "action": option.action}
    if option.type is not None:
        kwargs["type"] = option.type
    if option.metavar is not None:
        kwargs["metavar"] = option.metavar
    return kwargs


def _last_of(spec: OperationSpec, member: str) -> str:
    """The last keyword of the group `member` belongs to (`--to-self` goes after it)."""
    return next(names for names in spec.one_of if member in names)[-1]


def _add_modes(parser: argparse.ArgumentParser) -> None:
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument("--plan", action="store_true", help="read and check only, change nothing")
    modes.add_argument("--dry-run", action="store_true", help="plan, then ask EC2 with DryRun=True")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser, built from the registry (public for the docs and the tests).

    Given the command line `argv`, only the commands named in it are built whole (the one
    chosen is among them): the others are listed by name and summary, which is all `--help`
    shows of them. Without `argv`, and for a shell asking for completions, every command is
    built whole."""
    # Lazy: the registry (3 ms) loads only for the command the line names, never for --help.
    from .._registry import OPERATIONS  # noqa: PLC0415

    words = None if argv is None or "_ARGCOMPLETE" in os.environ else set(argv)

    parser = _Parser(
        prog="eniops",
        description="Safe Elastic IP, ENI, secondary-IP and overlay-route moves on EC2.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    _add_globals(parser, top=True)
    commands = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    groups: dict[str, Commands | None] = {}
    for spec in OPERATIONS:
        _add_operation(commands, groups, spec, whole=words is None or spec.command[0] in words)
    _add_tools(commands)
    return parser


def _add_tools(commands: Commands) -> None:
    """The commands that are not operations: none calls EC2."""
    policy = commands.add_parser("iam-policy", help="least-privilege IAM policy for operations")
    policy.add_argument(
        "operations",
        nargs="*",
        metavar="OPERATION",
        help="e.g. eip-remap eni-move (default: every operation)",
    )
    policy.add_argument(
        "--require-tag",
        metavar="KEY[=VALUE]",
        help="scope changes to resources with this tag",
        type=checked(_inputs.tag_guard, "--require-tag"),
    )
    _add_globals(policy, top=False, network=False)
    demo = commands.add_parser("demo", help="a failover story on an embedded moto (no AWS needed)")
    _add_globals(demo, top=False, network=False)
    completion = commands.add_parser(
        "completion",
        help='print a completion script: eval "$(eniops completion bash)" (zsh, fish too)',
    )
    completion.add_argument("shell", choices=("bash", "zsh", "fish"), help="the shell")
    whoami = commands.add_parser("whoami", help="this instance's id, region and addresses (IMDSv2)")
    _add_globals(whoami, top=False, network=False)
    scripts = commands.add_parser(
        "ha-script", help="print a shipped HA file (Pacemaker, keepalived, Patroni)"
    )
    scripts.add_argument("name", nargs="?", help="the script's name (default: list them)")
    _add_globals(scripts, top=False, network=False)
    docs = commands.add_parser("docs", help="print the reference (every argument, code and tag)")
    _add_globals(docs, top=False, network=False)
