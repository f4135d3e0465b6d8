"""The `eniops` command's arguments, built from the operations' registry: each operation's
keyword arguments become options, its argument rules the exclusive and required groups, so
the command line cannot drift from the library."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from . import _inputs
from ._errors import EXIT_MEANINGS, InvalidInput

if TYPE_CHECKING:
    from ._registry import OperationSpec

EXIT_USAGE = 2
EXIT_CODES = "exit codes (docs/reference.md says more):\n" + "".join(
    f"  {code:<9} {meaning}\n" for code, meaning in EXIT_MEANINGS
)


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors exit 2 with one line and no traceback."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"eniops: error: {message} (see eniops --help)\n")


def _checked(parse: Callable[[Any, str], Any], argument: str) -> Callable[[str], str]:
    """An argparse type that validates with eniops' own parser and keeps the text."""

    def check(text: str) -> str:
        try:
            parse(text, argument)
        except InvalidInput as err:
            raise argparse.ArgumentTypeError(err.message) from err
        return text

    check.__name__ = argument  # argparse names the type in its messages
    return check


def _whole(parse: Callable[[Any, str], Any], argument: str) -> Callable[[str], int]:
    """An argparse type for a whole number eniops' own parser then checks (its range)."""

    def check(text: str) -> int:
        try:
            number = int(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from err
        try:
            parse(number, argument)
        except InvalidInput as err:
            raise argparse.ArgumentTypeError(err.message) from err
        return number

    check.__name__ = argument
    return check


def _one_table(value: Any, argument: str) -> Any:
    return _inputs.route_table_ids([value], argument)


@dataclass(frozen=True)
class Option:
    """How one keyword argument of an operation looks on the command line."""

    flag: str
    help: str
    type: Callable[[str], Any] | None = None
    action: str = "store"
    metavar: str | None = None


def _valued(
    flag: str, help: str, parse: Callable[[Any, str], Any], metavar: str, action: str = "store"
) -> Option:
    """An option with a value eniops' own parser checks (a whole number for `N`)."""
    kind = _whole if metavar == "N" else _checked
    return Option(flag, help, kind(parse, flag), action, metavar)


def _switch(flag: str, help: str, action: str = "store_true") -> Option:
    return Option(flag, help, action=action)


OPTIONS: dict[str, Option] = {
    "to_instance": _valued("--to-instance", "the target instance", _inputs.instance_id, "ID"),
    "to_eni": _valued("--to-eni", "the target ENI", _inputs.eni_id, "ID"),
    "instance": _valued("--instance", "the instance to attach to", _inputs.instance_id, "ID"),
    "private_ip": _valued(
        "--private-ip",
        "which private IP of the target ENI (default: its primary)",
        _inputs.ipv4,
        "IP",
    ),
    "expect_current": _valued(
        "--expect-current",
        "only if this instance or ENI holds it now ('unassociated': only if nobody does)",
        _inputs.expect_current,
        "ID",
    ),
    "replace_eip": _switch(
        "--replace-eip",
        "take a private IP that carries another Elastic IP (EC2 disassociates that one)",
    ),
    "device_index": _valued(
        "--device-index",
        "device index on network card 0 (default: the lowest free)",
        _inputs.device_index,
        "N",
    ),
    "force_detach": _switch(
        "--force-detach", "force the detach (for a failed source instance only)"
    ),
    "force": _switch("--force", "force the detach (for a failed instance only)"),
    "allow_same_subnet": _switch(
        "--allow-same-subnet", "allow a second ENI of a subnet the instance is already in"
    ),
    "rollback": _switch(
        "--no-rollback",
        "on a failure halfway, leave things where they are (and say where)",
        "store_false",
    ),
    "ips": _valued(
        "--ip", "a private IP, IPv4 or IPv6 (repeat for several)", _inputs.ip, "IP", "append"
    ),
    "count": _valued("--count", "how many free addresses to pick", _inputs.count, "N"),
    "allow_reassignment": _switch(
        "--allow-reassignment", "take IPs held by another ENI (their Elastic IPs follow)"
    ),
    "route_tables": _valued(
        "--route-table",
        "a route table to change (repeat for several; default: every table "
        "of the VPC that routes the destination)",
        _one_table,
        "RTB",
        "append",
    ),
}
POSITIONALS: dict[str, Callable[[Any, str], Any]] = {
    "eip": _inputs.eip,
    "eni": _inputs.eni_id,
    "target": _inputs.eni_or_instance,
    "from_instance": _inputs.instance_id,
    "destination": _inputs.cidr,
    "resource_id": _inputs.resource,
}
POSITIONAL_HELP = {
    "eip": "the Elastic IP: allocation id (eipalloc-…) or public IPv4 address",
    "eni": "the ENI id (eni-…)",
    "target": "an ENI id, or an instance id meaning its primary ENI",
    "from_instance": "the instance that failed (i-…)",
    "destination": "the overlay IP's CIDR (192.168.100.10/32, 2001:db8::10/128, or a bare address)",
    "resource_id": "an instance, ENI or Elastic IP",
}


@dataclass(frozen=True)
class Global:
    """An option every command takes, before or after its words."""

    flags: tuple[str, ...]
    help: str
    dest: str
    metavar: str | None = None
    type: Callable[[str], Any] | None = None
    choices: tuple[str, ...] | None = None
    action: str = "store"
    #: Its value when not given (at the top level; under a command, "not given").
    default: Any = None
    #: It configures the client: commands that call nothing do not take it.
    network: bool = True


GLOBALS = (
    Global(
        ("--region",), "AWS region (else AWS_REGION, AWS_DEFAULT_REGION, the profile's)", "region"
    ),
    Global(("--profile",), "AWS named profile (else AWS_PROFILE)", "profile"),
    Global(
        ("--role-arn",),
        "assume this IAM role (STS): other accounts, shared VPCs",
        "role_arn",
        metavar="ARN",
    ),
    Global(
        ("--external-id",),
        "the external id the role asks for (else ENIOPS_EXTERNAL_ID)",
        "external_id",
        metavar="ID",
    ),
    Global(
        ("--endpoint-url",),
        "EC2 endpoint (a VPC endpoint, or a test server)",
        "endpoint_url",
        metavar="URL",
    ),
    Global(
        ("--timeout",),
        "seconds for the whole operation, retries and waits included",
        "timeout",
        metavar="S",
        type=float,
    ),
    Global(
        ("--output",),
        "json: the Result as data; text, table: as the AWS CLI prints them (default: "
        "AWS_DEFAULT_OUTPUT, else the profile's output, else a summary for people)",
        "output",
        choices=("json", "text", "table"),
        network=False,
    ),
    Global(
        ("--query",),
        "pick from the JSON result (as the AWS CLI does)",
        "query",
        metavar="JMESPATH",
        network=False,
    ),
    Global(
        ("-v", "--verbose", "--debug"),
        "log each call and show tracebacks (never credentials or tokens)",
        "verbose",
        action="store_true",
        default=False,
        network=False,
    ),
    Global(
        ("--no-cli-pager",),
        "accepted for AWS CLI habits (no pager)",
        "no_cli_pager",
        action="store_true",
        default=False,
        network=False,
    ),
)


def _add_globals(parser: argparse.ArgumentParser, *, top: bool, network: bool = True) -> None:
    """Global options; on commands they default to 'not given', so that either place works.
    A command that calls nothing (`network=False`) takes no option that configures a client."""
    for option in GLOBALS:
        if option.network and not network:
            continue
        kwargs: dict[str, Any] = {"dest": option.dest, "help": option.help, "action": option.action}
        kwargs["default"] = option.default if top else argparse.SUPPRESS
        if option.metavar is not None:
            kwargs["metavar"] = option.metavar
        if option.type is not None:
            kwargs["type"] = option.type
        if option.choices is not None:
            kwargs["choices"] = option.choices
        parser.add_argument(*option.flags, **kwargs)


def _add_operation(commands: Any, groups: dict[str, Any], spec: OperationSpec) -> None:
    *group_words, word = spec.command
    holder = commands
    if group_words:
        group = group_words[0]
        if group not in groups:
            groups[group] = commands.add_parser(
                group,
                help=f"{group} commands",
                formatter_class=argparse.RawDescriptionHelpFormatter,
            ).add_subparsers(dest="action", required=True, parser_class=_Parser, metavar="ACTION")
        holder = groups[group]
    parser = holder.add_parser(
        word,
        help=spec.summary,
        description=spec.summary,
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(spec=spec.name)
    parser.add_argument(
        spec.positional,
        help=POSITIONAL_HELP.get(spec.positional),
        type=_checked(POSITIONALS[spec.positional], spec.positional.upper()),
    )
    _add_keywords(parser, spec)
    if spec.mutating:
        _add_modes(parser)
    if "require_tag" in spec.common:
        parser.add_argument(
            "--require-tag",
            metavar="KEY[=VALUE]",
            help="every resource it would change must carry this tag",
            type=_checked(_inputs.tag_guard, "--require-tag"),
        )
    _add_globals(parser, top=False)


def _add_keywords(parser: argparse.ArgumentParser, spec: OperationSpec) -> None:
    """An option per keyword; exactly one of each of the registry's groups (with
    `--to-self` in the group of the keyword it fills); its required ones required."""
    from ._registry import self_option_group  # noqa: PLC0415

    exclusive: dict[str, Any] = {}
    for names in spec.one_of:
        exclusive.update(dict.fromkeys(names, parser.add_mutually_exclusive_group(required=True)))
    self_group = self_option_group(spec)
    # A group's members first and together (`--to-self` last among them), so that the usage
    # shows them as one choice: (--to-instance ID | --to-eni ID | --to-self).
    grouped = [n for names in spec.one_of for n in names if n in spec.keywords]
    for name in [*grouped, *(n for n in spec.keywords if n not in grouped)]:
        option = OPTIONS[name]
        kwargs: dict[str, Any] = {"dest": name, "help": option.help, "action": option.action}
        if option.type is not None:
            kwargs["type"] = option.type
        if option.metavar is not None:
            kwargs["metavar"] = option.metavar
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


def _last_of(spec: OperationSpec, member: str) -> str:
    """The last keyword of the group `member` belongs to (`--to-self` goes after it)."""
    return next(names for names in spec.one_of if member in names)[-1]


def _add_modes(parser: argparse.ArgumentParser) -> None:
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument("--plan", action="store_true", help="read and check only, change nothing")
    modes.add_argument("--dry-run", action="store_true", help="plan, then ask EC2 with DryRun=True")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, built from the registry (public for the docs and the tests)."""
    from ._registry import OPERATIONS  # noqa: PLC0415

    parser = _Parser(
        prog="eniops",
        description="Safe Elastic IP, ENI, secondary-IP and overlay-route moves on EC2.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    _add_globals(parser, top=True)
    commands = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    groups: dict[str, Any] = {}
    for spec in OPERATIONS:
        _add_operation(commands, groups, spec)
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
        type=_checked(_inputs.tag_guard, "--require-tag"),
    )
    _add_globals(policy, top=False, network=False)
    demo = commands.add_parser("demo", help="a failover story on an embedded moto (no AWS needed)")
    _add_globals(demo, top=False, network=False)
    completion = commands.add_parser(
        "completion",
        help='print a completion script: eval "$(eniops completion bash)" (zsh, fish too)',
    )
    completion.add_argument("shell", choices=("bash", "zsh", "fish"), help="the shell")
    whoami = commands.add_parser("whoami", help="this instance's id and region (IMDSv2)")
    _add_globals(whoami, top=False, network=False)
    scripts = commands.add_parser(
        "ha-script", help="print a shipped HA file (Pacemaker, keepalived, Patroni)"
    )
    scripts.add_argument("name", nargs="?", help="the script's name (default: list them)")
    _add_globals(scripts, top=False, network=False)
    return parser
