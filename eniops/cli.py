"""The `eniops` command: the same operations for ops scripts and HA notify scripts.

Exit codes: 0 done or nothing to do, 2 invalid input or usage, 3 precondition failed,
4 conflict, 5 AWS error, 6 timeout, 7 partial failure rolled back, 8 not rolled back.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

    from ._result import Result

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors exit 2 with one line and no traceback."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"eniops: error: {message} (see eniops --help)\n")


def _add_change_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--plan", action="store_true", help="read and check only, change nothing")
    group.add_argument("--dry-run", action="store_true", help="plan, then ask EC2 with DryRun=True")
    parser.add_argument("--require-tag", metavar="KEY[=VALUE]", help="refuse untagged resources")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (public for the documentation and the tests)."""
    parser = _Parser(prog="eniops", description="Safe Elastic IP, ENI and secondary-IP moves.")
    parser.add_argument(
        "--region", help="AWS region (else AWS_REGION / AWS_DEFAULT_REGION / profile)"
    )
    parser.add_argument("--profile", help="AWS named profile (else AWS_PROFILE)")
    parser.add_argument(
        "--endpoint-url", help="EC2 endpoint URL (e.g. a VPC endpoint or a test server)"
    )
    parser.add_argument("--output", choices=("json", "text"), default="text")
    parser.add_argument("--timeout", type=float, help="seconds for the whole operation")
    parser.add_argument("-v", "--verbose", action="store_true", help="log calls; tracebacks")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    eip = commands.add_parser("eip", help="Elastic IPs").add_subparsers(
        dest="action", required=True, parser_class=_Parser
    )
    remap = eip.add_parser("remap", help="move an Elastic IP in one call")
    remap.add_argument("eip")
    target = remap.add_mutually_exclusive_group(required=True)
    target.add_argument("--to-instance")
    target.add_argument("--to-eni")
    target.add_argument("--to-self", action="store_true")
    remap.add_argument("--private-ip")
    remap.add_argument("--expect-current")
    _add_change_options(remap)

    eni = commands.add_parser("eni", help="network interfaces").add_subparsers(
        dest="action", required=True, parser_class=_Parser
    )
    move = eni.add_parser("move", help="detach, attach elsewhere, verify (rolls back)")
    move.add_argument("eni")
    target = move.add_mutually_exclusive_group(required=True)
    target.add_argument("--to-instance")
    target.add_argument("--to-self", action="store_true")
    move.add_argument("--device-index", type=int)
    move.add_argument("--expect-current")
    move.add_argument("--force-detach", action="store_true")
    move.add_argument("--allow-same-subnet", action="store_true")
    move.add_argument("--no-rollback", action="store_true")
    _add_change_options(move)
    attach = eni.add_parser("attach", help="attach an available ENI")
    attach.add_argument("eni")
    target = attach.add_mutually_exclusive_group(required=True)
    target.add_argument("--instance")
    target.add_argument("--to-self", action="store_true")
    attach.add_argument("--device-index", type=int)
    attach.add_argument("--allow-same-subnet", action="store_true")
    _add_change_options(attach)
    detach = eni.add_parser("detach", help="detach a secondary ENI")
    detach.add_argument("eni")
    detach.add_argument("--expect-current")
    detach.add_argument("--force", action="store_true")
    _add_change_options(detach)

    ip = commands.add_parser("ip", help="secondary private IPs").add_subparsers(
        dest="action", required=True, parser_class=_Parser
    )
    add = ip.add_parser("add", help="add secondary private IPs (additive)")
    add.add_argument("target")
    which = add.add_mutually_exclusive_group(required=True)
    which.add_argument("--ip", action="append", dest="ips")
    which.add_argument("--count", type=int)
    add.add_argument("--allow-reassignment", action="store_true")
    add.add_argument("--expect-current")
    _add_change_options(add)
    remove = ip.add_parser("remove", help="remove secondary private IPs")
    remove.add_argument("target")
    remove.add_argument("--ip", action="append", dest="ips", required=True)
    _add_change_options(remove)

    failover = commands.add_parser("failover", help="move an instance's EIPs and ENIs")
    failover.add_argument("from_instance")
    target = failover.add_mutually_exclusive_group(required=True)
    target.add_argument("--to-instance")
    target.add_argument("--to-self", action="store_true")
    _add_change_options(failover)

    show = commands.add_parser("show", help="what an operator needs before a move")
    show.add_argument("id")
    policy = commands.add_parser("iam-policy", help="least-privilege IAM policy")
    policy.add_argument("operations", nargs="*", metavar="OPERATION")
    policy.add_argument("--require-tag", metavar="KEY[=VALUE]")
    commands.add_parser("demo", help="a failover story on an embedded moto (no AWS needed)")
    return parser


def _client(args: argparse.Namespace) -> EC2Client:
    from botocore.exceptions import BotoCoreError  # noqa: PLC0415

    from ._errors import InvalidInput  # noqa: PLC0415
    from ._gateway import build_client  # noqa: PLC0415

    try:
        session = None
        if args.profile:
            import boto3.session  # noqa: PLC0415

            session = boto3.session.Session(profile_name=args.profile)
        return build_client(
            session=session,
            region=args.region,
            endpoint_url=args.endpoint_url,
            timeout_s=args.timeout,
        )
    except BotoCoreError as err:
        raise InvalidInput(f"cannot build an EC2 client: {err}") from err


def _self_instance(args: argparse.Namespace) -> str:
    from ._imds import Imds  # noqa: PLC0415

    imds = Imds()
    if not args.region:
        args.region = imds.region()
    return imds.instance_id()


def _run(args: argparse.Namespace) -> tuple[Any, Callable[[Any], str]]:
    """Dispatch a parsed command; return what to print and how to render it as text."""
    import eniops  # noqa: PLC0415

    from . import _permissions  # noqa: PLC0415

    if args.command == "iam-policy":
        return _permissions.iam_policy(args.operations, require_tag=args.require_tag), _json_text
    if args.command == "demo":
        from .demo import run_demo  # noqa: PLC0415

        run_demo(output=args.output)
        return None, _json_text
    me = _self_instance(args) if getattr(args, "to_self", False) else ""
    common: dict[str, Any] = {"ec2": _client(args)}
    if args.timeout is not None:
        common["timeout"] = args.timeout
    if args.command == "show":
        return eniops.describe(args.id, **common), render_show
    common["mode"] = "plan" if args.plan else "dry-run" if args.dry_run else "apply"
    common["require_tag"] = args.require_tag
    key = (args.command, getattr(args, "action", None))
    result: Result
    if key == ("eip", "remap"):
        result = eniops.remap_eip(
            args.eip,
            to_instance=args.to_instance or me,
            to_eni=args.to_eni,
            private_ip=args.private_ip,
            expect_current=args.expect_current,
            **common,
        )
    elif key == ("eni", "move"):
        result = eniops.move_eni(
            args.eni,
            to_instance=args.to_instance or me,
            device_index=args.device_index,
            expect_current=args.expect_current,
            force_detach=args.force_detach,
            allow_same_subnet=args.allow_same_subnet,
            rollback=not args.no_rollback,
            **common,
        )
    elif key == ("eni", "attach"):
        result = eniops.attach_eni(
            args.eni,
            instance=args.instance or me,
            device_index=args.device_index,
            allow_same_subnet=args.allow_same_subnet,
            **common,
        )
    elif key == ("eni", "detach"):
        result = eniops.detach_eni(
            args.eni, expect_current=args.expect_current, force=args.force, **common
        )
    elif key == ("ip", "add"):
        result = eniops.add_secondary_ips(
            args.target,
            ips=tuple(args.ips or ()),
            count=args.count or 0,
            allow_reassignment=args.allow_reassignment,
            expect_current=args.expect_current,
            **common,
        )
    elif key == ("ip", "remove"):
        result = eniops.remove_secondary_ips(args.target, ips=tuple(args.ips), **common)
    elif args.command == "failover":
        result = eniops.failover_instance(
            args.from_instance, to_instance=args.to_instance or me, **common
        )
    else:  # pragma: no cover - argparse refuses unknown commands
        raise AssertionError(key)
    return result.to_dict(), render_result


def _json_text(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=False, default=str)


def render_result(data: dict[str, Any], indent: str = "") -> str:
    """A `Result.to_dict()` as text a person can read at 3 a.m."""
    verdict = (
        "CHANGED"
        if data["changed"]
        else ("planned (nothing changed)" if data["mode"] != "apply" else "nothing to do")
    )
    lines = [f"{indent}{data['operation']}: {verdict} [{data['mode']}] in {data['elapsed_s']:.2f}s"]
    for step in data["steps"]:
        params = " ".join(f"{k}={v}" for k, v in step["params"].items())
        note = f"  ({step['note']})" if step.get("note") else ""
        lines.append(f"{indent}  {step['status']:<11} {step['action']} {params}{note}")
    for name, before in data["before"].items():
        after = data["after"].get(name, {})
        if not isinstance(before, dict) or not isinstance(after, dict):
            continue
        moved = [
            f"{key}: {before.get(key)} -> {after.get(key)}"
            for key in before
            if before.get(key) != after.get(key)
        ]
        lines.extend(f"{indent}  {name} {change}" for change in moved)
    lines.extend(f"{indent}  warning: {w}" for w in data["warnings"])
    for child in data.get("children", []):
        lines.append(render_result(child, indent + "  "))
    return "\n".join(lines)


def _eni_line(eni: dict[str, Any]) -> str:
    index = "-" if eni.get("device_index") is None else eni["device_index"]
    parts = [
        f"#{index} {eni['eni']} {eni['subnet']} ({eni['status']})",
        f"primary {eni['primary_ip']}",
    ]
    if eni.get("secondary_ips"):
        parts.append("secondary " + ", ".join(eni["secondary_ips"]))
    parts.extend(
        f"EIP {e['public_ip']} ({e['allocation_id']}) -> {e['private_ip']}"
        for e in eni.get("elastic_ips", [])
    )
    if "free_ip_slots" in eni:
        parts.append(f"{eni['free_ip_slots']} IPs free")
    return "; ".join(parts)


def render_show(view: dict[str, Any]) -> str:
    """`describe()` output as text: what an operator needs before a move."""
    if view["kind"] == "eip":
        where = (
            f"on {view['eni']} ({view['instance'] or 'no instance'}) at {view['private_ip']}"
            if view["eni"]
            else "not associated"
        )
        return f"{view['public_ip']} ({view['allocation_id']}) {where}"
    if view["kind"] == "eni":
        owner = view["instance"] or "not attached"
        return (
            f"{view['id']} in {view['availability_zone']}, {view['vpc']}: {owner}\n  "
            + _eni_line(view)
        )
    limits, free = view["limits"], view["free"]
    lines = [
        f"{view['id']} ({view['instance_type']}) {view['state']} in "
        f"{view['availability_zone']}, {view['vpc']}",
        f"  limits: {limits['max_enis']} ENIs ({limits['max_enis_card_0']} on card 0), "
        f"{limits['ipv4_per_eni']} IPv4 per ENI",
        f"  free: {free['eni_slots']} ENI slot(s), device indexes "
        f"{', '.join(map(str, free['device_indexes'])) or 'none'}",
    ]
    lines.extend("  " + _eni_line(eni) for eni in view["enis"])
    return "\n".join(lines)


def _progress(doing: str, elapsed: float) -> None:
    sys.stderr.write(f"\r... {doing} ({elapsed:.1f}s)\x1b[K")
    sys.stderr.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger("botocore").setLevel(logging.WARNING)
    from ._errors import EniopsError, exit_code_for  # noqa: PLC0415
    from ._operation import progress_callback  # noqa: PLC0415

    terminal = sys.stderr.isatty()
    token = progress_callback.set(_progress if terminal else None)
    try:
        value, render = _run(args)
    except EniopsError as err:
        return _fail(args, err, exit_code_for(err))
    except KeyboardInterrupt:
        sys.stderr.write("eniops: interrupted\n")
        return 130
    except Exception as err:
        return _fail(args, err, 1)
    finally:
        progress_callback.reset(token)
        if terminal:
            sys.stderr.write("\r\x1b[K")
    if value is not None:
        print(json.dumps(value, indent=2) if args.output == "json" else render(value))
    return 0


def _fail(args: argparse.Namespace, err: BaseException, code: int) -> int:
    from ._errors import EniopsError  # noqa: PLC0415

    if args.verbose:
        import traceback  # noqa: PLC0415

        traceback.print_exception(err)
    reason = getattr(err, "reason", None)
    label = type(err).__name__ + (f" ({reason})" if reason else "")
    message = " ".join(str(err).split())
    sys.stderr.write(f"eniops: {label}: {message}\n")
    if args.output == "json":
        data = (
            err.to_dict()
            if isinstance(err, EniopsError)
            else {"type": type(err).__name__, "reason": None, "message": message, "details": {}}
        )
        print(json.dumps({"error": data}, indent=2, default=str))
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
