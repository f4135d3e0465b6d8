"""How each option of the `eniops` command looks: an operation's keyword arguments, its
positional argument and the global options, each checked by eniops' own parsers (`_inputs`)
as argparse reads it. `_parser` builds the commands from these."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

from .._core import _inputs
from .._core._errors import InvalidInput

#: One of eniops' own parsers (`_inputs`): a value and the argument's name, to what it means.
Parse: TypeAlias = "Callable[[object, str], object]"


def checked(parse: Parse, argument: str) -> Callable[[str], str]:
    """An argparse type that validates with eniops' own parser and keeps the text."""

    def check(text: str) -> str:
        try:
            parse(text, argument)
        except InvalidInput as err:
            raise argparse.ArgumentTypeError(err.message) from err
        return text

    check.__name__ = argument  # argparse names the type in its messages
    return check


def _whole(parse: Parse, argument: str) -> Callable[[str], int]:
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


def _parsed(parse: Parse, text: str, argument: str) -> object:
    """An argparse type whose value is what eniops' own parser makes of the text."""
    try:
        return parse(text, argument)
    except InvalidInput as err:
        raise argparse.ArgumentTypeError(err.message) from err


def _one_table(value: object, argument: str) -> tuple[str, ...] | None:
    return _inputs.route_table_ids([value], argument)


@dataclass(frozen=True)
class Option:
    """How one keyword argument of an operation looks on the command line."""

    flag: str
    help: str
    type: Callable[[str], object] | None = None
    action: str = "store"
    metavar: str | None = None


def _valued(flag: str, help: str, parse: Parse, metavar: str, action: str = "store") -> Option:
    """An option with a value eniops' own parser checks (a whole number for `N`)."""
    kind = _whole if metavar == "N" else checked
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
    "pairs": Option(
        "--pairs",
        "a JSON file: instance id to its standby's id (default: ENIOPS_STANDBY, else the "
        "instances' eniops:standby tags)",
        lambda text: _parsed(_inputs.pairs_file, text, "--pairs"),
        metavar="FILE",
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
POSITIONALS: dict[str, Parse] = {
    "eip": _inputs.eip,
    "eni": _inputs.eni_id,
    "target": _inputs.eni_or_instance,
    "from_instance": _inputs.instance_id,
    "destination": _inputs.cidr,
    "resource_id": _inputs.resource,
    "zone": _inputs.zone,
}
POSITIONAL_HELP = {
    "eip": "the Elastic IP: allocation id (eipalloc-…) or public IPv4 address",
    "eni": "the ENI id (eni-…)",
    "target": "an ENI id, or an instance id meaning its primary ENI",
    "from_instance": "the instance that failed (i-…)",
    "destination": "the overlay IP's CIDR (192.168.100.10/32, 2001:db8::10/128, or a bare address)",
    "resource_id": "an instance, ENI or Elastic IP",
    "zone": "the availability zone, by name (us-east-1a) or id (use1-az1)",
}


@dataclass(frozen=True)
class Global:
    """An option every command takes, before or after its words."""

    flags: tuple[str, ...]
    help: str
    dest: str
    metavar: str | None = None
    type: Callable[[str], object] | None = None
    choices: tuple[str, ...] | None = None
    action: str = "store"
    #: Its value when not given (at the top level; under a command, "not given").
    default: str | float | None = None
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
        "log on stderr: -v each change, retry and warning; -vv each EC2 call too (never "
        "credentials or tokens); and show tracebacks",
        "verbose",
        action="count",
        default=0,
        network=False,
    ),
    Global(
        ("--log-format",),
        "text, or json: one JSON object per log line",
        "log_format",
        choices=("text", "json"),
        default="text",
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
