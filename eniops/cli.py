"""The `eniops` command: the same operations for ops scripts and HA notify scripts.

Its commands are built from the operations' registry: each operation's keyword arguments
become options, so the command line cannot drift from the library.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from . import _inputs
from ._errors import EXIT_SIGINT, EXIT_SIGTERM, EniopsError, InvalidInput, exit_code_for

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

    from ._registry import OperationSpec

EXIT_USAGE = 2
EXIT_CODES = """exit codes:
  0    done, or nothing to do
  2    invalid input or usage
  3    precondition failed (nothing was changed)
  4    conflict: someone else holds the resource (nothing was changed)
  5    AWS error, permission denied included
  6    timeout (the error says where every resource is)
  7    partial failure, rolled back
  8    partial failure, NOT rolled back (the error says where every resource is)
  130  interrupted by SIGINT, and
  143  by SIGTERM: where every resource is was printed; re-run the same command to
       complete an interrupted move
"""
#: Keywords every operation takes; the command line fills them from global options.
COMMON = frozenset({"mode", "ec2", "session", "region", "timeout", "require_tag", "role_arn"})


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


@dataclass(frozen=True)
class Option:
    """How one keyword argument of an operation looks on the command line."""

    flag: str
    help: str
    type: Callable[[str], Any] | None = None
    action: str = "store"
    metavar: str | None = None


OPTIONS: dict[str, Option] = {
    "to_instance": Option(
        "--to-instance",
        "the target instance",
        _checked(_inputs.instance_id, "--to-instance"),
        metavar="ID",
    ),
    "to_eni": Option(
        "--to-eni", "the target ENI", _checked(_inputs.eni_id, "--to-eni"), metavar="ID"
    ),
    "instance": Option(
        "--instance",
        "the instance to attach to",
        _checked(_inputs.instance_id, "--instance"),
        metavar="ID",
    ),
    "private_ip": Option(
        "--private-ip",
        "which private IP of the target ENI (default: its primary)",
        _checked(_inputs.ipv4, "--private-ip"),
        metavar="IP",
    ),
    "expect_current": Option(
        "--expect-current",
        "only if this instance or ENI holds it now ('unassociated': only if nobody does)",
        _checked(_inputs.expect_current, "--expect-current"),
        metavar="ID",
    ),
    "replace_eip": Option(
        "--replace-eip",
        "take a private IP that carries another Elastic IP (EC2 disassociates that one)",
        action="store_true",
    ),
    "device_index": Option(
        "--device-index",
        "device index on network card 0 (default: the lowest free)",
        int,
        metavar="N",
    ),
    "force_detach": Option(
        "--force-detach",
        "force the detach (for a failed source instance only)",
        action="store_true",
    ),
    "force": Option(
        "--force", "force the detach (for a failed instance only)", action="store_true"
    ),
    "allow_same_subnet": Option(
        "--allow-same-subnet",
        "allow a second ENI of a subnet the instance is already in",
        action="store_true",
    ),
    "rollback": Option(
        "--no-rollback",
        "on a failure halfway, leave things where they are (and say where)",
        action="store_false",
    ),
    "ips": Option(
        "--ip",
        "a secondary private IP (repeat for several)",
        _checked(_inputs.ipv4, "--ip"),
        action="append",
        metavar="IP",
    ),
    "count": Option("--count", "how many free addresses to pick", int, metavar="N"),
    "allow_reassignment": Option(
        "--allow-reassignment",
        "take IPs held by another ENI (their Elastic IPs follow)",
        action="store_true",
    ),
    "route_tables": Option(
        "--route-table",
        "a route table to change (repeat for several; default: every table "
        "of the VPC that routes the destination)",
        action="append",
        metavar="RTB",
    ),
}
#: Options of which exactly one is required, per operation (`to_self` is `--to-self`).
ONE_OF: dict[str, tuple[str, ...]] = {
    "remap_eip": ("to_instance", "to_eni", "to_self"),
    "move_eni": ("to_instance", "to_self"),
    "attach_eni": ("instance", "to_self"),
    "add_secondary_ips": ("ips", "count"),
    "failover_instance": ("to_instance", "to_self"),
    "move_route": ("to_instance", "to_eni", "to_self"),
}
REQUIRED = {"remove_secondary_ips": ("ips",)}
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
    "destination": "the overlay IP as a CIDR (192.168.100.10/32; a bare address means /32)",
    "resource_id": "an instance, ENI or Elastic IP",
}


def keywords_of(spec: OperationSpec) -> list[str]:
    """The operation's own keyword arguments (not the common ones), in signature order."""
    parameters = inspect.signature(spec.function).parameters.values()
    return [p.name for p in parameters if p.kind is p.KEYWORD_ONLY and p.name not in COMMON]


def _add_globals(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """Global options; on subcommands they default to 'not given', so that either place works."""
    default: dict[str, Any] = {} if top else {"default": argparse.SUPPRESS}
    parser.add_argument(
        "--region",
        help="AWS region (else AWS_REGION, AWS_DEFAULT_REGION, the profile's)",
        **default,
    )
    parser.add_argument("--profile", help="AWS named profile (else AWS_PROFILE)", **default)
    parser.add_argument(
        "--role-arn",
        metavar="ARN",
        help="assume this IAM role (STS, session name eniops): other accounts, shared VPCs",
        **default,
    )
    parser.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="EC2 endpoint (a VPC endpoint, or a test server)",
        **default,
    )
    parser.add_argument(
        "--output",
        choices=("json", "text", "table"),
        help="json: the Result as data; text (default): for people; table: key/value rows",
        **({"default": "text"} if top else default),
    )
    parser.add_argument(
        "--query",
        metavar="JMESPATH",
        help="pick from the JSON result (as the AWS CLI does)",
        **default,
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        help="seconds for the whole operation, retries and waits included",
        **default,
    )
    parser.add_argument(
        "-v",
        "--verbose",
        "--debug",
        action="store_true",
        dest="verbose",
        help="log each call and show tracebacks (never credentials or tokens)",
        **({"default": False} if top else default),
    )
    parser.add_argument(
        "--no-cli-pager",
        action="store_true",
        help="accepted for AWS CLI habits (no pager)",
        **({"default": False} if top else default),
    )


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
    one_of = ONE_OF.get(spec.name, ())
    exclusive = parser.add_mutually_exclusive_group(required=True) if one_of else None
    for name in keywords_of(spec):
        option = OPTIONS[name]
        where = exclusive if name in one_of and exclusive is not None else parser
        kwargs: dict[str, Any] = {"dest": name, "help": option.help, "action": option.action}
        if option.type is not None:
            kwargs["type"] = option.type
        if option.metavar is not None:
            kwargs["metavar"] = option.metavar
        if name in REQUIRED.get(spec.name, ()):
            kwargs["required"] = True
        where.add_argument(option.flag, **kwargs)
    if "to_self" in one_of and exclusive is not None:
        exclusive.add_argument(
            "--to-self",
            action="store_true",
            help="this instance, found through IMDSv2 (honours AWS_EC2_METADATA_DISABLED)",
        )
    if spec.mutating:
        modes = parser.add_mutually_exclusive_group()
        modes.add_argument(
            "--plan", action="store_true", help="read and check only, change nothing"
        )
        modes.add_argument(
            "--dry-run", action="store_true", help="plan, then ask EC2 with DryRun=True"
        )
        parser.add_argument(
            "--require-tag",
            metavar="KEY[=VALUE]",
            help="refuse to change a resource without this tag",
            type=_checked(_inputs.tag_guard, "--require-tag"),
        )
    _add_globals(parser, top=False)


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
    _add_globals(policy, top=False)
    demo = commands.add_parser("demo", help="a failover story on an embedded moto (no AWS needed)")
    _add_globals(demo, top=False)
    completion = commands.add_parser(
        "completion",
        help='print a bash completion script: eval "$(eniops completion bash)"',
    )
    completion.add_argument("shell", choices=("bash",), help="the shell (zsh: bashcompinit)")
    whoami = commands.add_parser("whoami", help="this instance's id and region (IMDSv2)")
    _add_globals(whoami, top=False)
    scripts = commands.add_parser("ha-script", help="print a packaged HA script (keepalived, OCF)")
    scripts.add_argument("name", nargs="?", help="the script's name (default: list them)")
    _add_globals(scripts, top=False)
    return parser


# -- running ----------------------------------------------------------------------------------


def _client(args: argparse.Namespace) -> EC2Client:
    """The EC2 client for this command (built from the global options)."""
    from ._gateway import build_client  # noqa: PLC0415

    return build_client(
        profile=args.profile,
        region=args.region,
        role_arn=args.role_arn,
        endpoint_url=args.endpoint_url,
        timeout_s=args.timeout,
    )


def _this_instance(args: argparse.Namespace) -> str:
    from ._imds import Imds  # noqa: PLC0415

    imds = Imds()
    if args.region is None:
        args.region = imds.region()
    return imds.instance_id()


def _operation_kwargs(args: argparse.Namespace, spec: OperationSpec) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for name in keywords_of(spec):
        value = getattr(args, name, None)
        if value is None:
            continue
        kwargs[name] = tuple(value) if isinstance(value, list) else value
    if getattr(args, "to_self", False):
        kwargs[spec.self_targets[0]] = _this_instance(args)
    return kwargs


def _run_operation(args: argparse.Namespace, spec: OperationSpec) -> tuple[Any, str]:
    """Run one registered operation; return what it returned and its kind of view."""
    kwargs = _operation_kwargs(args, spec)
    if args.timeout is not None:
        _inputs.timeout(args.timeout, "--timeout")
        kwargs["timeout"] = args.timeout
    if spec.mutating:
        kwargs["mode"] = "plan" if args.plan else "dry-run" if args.dry_run else "apply"
        kwargs["require_tag"] = args.require_tag
    value = spec.function(getattr(args, spec.positional), ec2=_client(args), **kwargs)
    if spec.mutating:
        return value.to_dict(), "result"
    return value, "show"


def _run(args: argparse.Namespace) -> tuple[Any, str]:
    """Dispatch a parsed command; return what to print and how it reads as text."""
    from . import _registry  # noqa: PLC0415

    if args.command == "iam-policy":
        return _registry.iam_policy(args.operations, require_tag=args.require_tag), "json"
    if args.command == "demo":
        from .demo import run_demo  # noqa: PLC0415

        run_demo(output=args.output)
        return None, "none"
    if args.command == "completion":
        from ._completion import bash_script  # noqa: PLC0415

        return bash_script(build_parser()), "raw"
    if args.command == "whoami":
        from ._imds import Imds  # noqa: PLC0415

        imds = Imds()
        return {"instance": imds.instance_id(), "region": imds.region()}, "whoami"
    if args.command == "ha-script":
        from ._scripts import script_text  # noqa: PLC0415

        return script_text(args.name), "raw"
    return _run_operation(args, _registry.BY_NAME[args.spec])


def _compiled(query: str | None) -> Any:
    """`--query` as a compiled JMESPath expression: a bad one is exit 2 before any call."""
    if query is None:
        return None
    import jmespath  # noqa: PLC0415  (comes with botocore)
    from jmespath.exceptions import JMESPathError  # noqa: PLC0415

    try:
        return jmespath.compile(query)
    except JMESPathError as err:
        raise InvalidInput(f"--query {query!r}: {' '.join(str(err).split())}") from err


def _render(value: Any, view: str, args: argparse.Namespace) -> str:
    from . import _render as render  # noqa: PLC0415

    if view == "raw":
        return str(value)
    if args.compiled_query is not None:
        from jmespath.exceptions import JMESPathError  # noqa: PLC0415

        try:
            value = args.compiled_query.search(value)
        except JMESPathError as err:  # a type error found only on the data
            raise InvalidInput(f"--query {args.query!r}: {err}") from err
        view = "query"
    if args.output == "json":
        return render.as_json(value)
    if args.output == "table":
        return render.table(value)
    texts: dict[str, Callable[[Any], str]] = {
        "result": render.result_text,
        "show": render.show_text,
        "query": render.plain,
        "whoami": render.plain,
    }
    return texts.get(view, render.as_json)(value)


def _progress(doing: str, elapsed: float) -> None:
    sys.stderr.write(f"\r... {doing} ({elapsed:.1f}s)\x1b[K")
    sys.stderr.flush()


class _Signals:
    """While a command runs: SIGINT and SIGTERM ask it to stop (no new change starts, the
    call in flight finishes, where everything is gets printed). A repeated signal changes
    nothing: the first one's exit code and report stand (the call in flight is bounded)."""

    def __init__(self) -> None:
        from ._settings import StopRequest  # noqa: PLC0415

        self.stop = StopRequest()
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, _frame: Any) -> None:
        name = signal.Signals(signum).name
        if self.stop.requested:
            sys.stderr.write(f"\neniops: {name}: already stopping; finishing the call in flight\n")
            return
        self.stop.request(signum)
        sys.stderr.write(f"\neniops: {name}: finishing the call in flight\n")

    def __enter__(self) -> _Signals:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError):  # not the main thread (tests): no handlers
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *_: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def _prepare(args: argparse.Namespace) -> None:
    # Global values are checked before anything is asked of IMDS or EC2.
    _inputs.region(args.region, "--region")
    _inputs.role_arn(getattr(args, "role_arn", None), "--role-arn")
    _inputs.endpoint_url(getattr(args, "endpoint_url", None), "--endpoint-url")
    args.compiled_query = _compiled(args.query)
    if args.region is None:  # boto3 reads AWS_DEFAULT_REGION; the AWS CLI also AWS_REGION
        args.region = os.environ.get("AWS_REGION") or None
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger("botocore").setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from ._version import version  # noqa: PLC0415

        print(f"eniops {version()}")
        return 0
    if args.command is None:
        parser.print_usage(sys.stderr)
        return EXIT_USAGE
    from ._settings import use_settings  # noqa: PLC0415

    terminal = sys.stderr.isatty()
    with (
        _Signals() as signals,
        use_settings(progress=_progress if terminal else None, stop=signals.stop),
    ):
        try:
            _prepare(args)
            value, view = _run(args)
            text = _render(value, view, args) if value is not None else None
        except EniopsError as err:
            return _fail(args, err, exit_code_for(err))
        except KeyboardInterrupt:
            sys.stderr.write("eniops: interrupted\n")
            return EXIT_SIGINT
        except Exception as err:  # a bug: one line (and the traceback with -v), exit 1
            return _fail(args, err, 1)
        finally:
            if terminal:
                sys.stderr.write("\r\x1b[K")
    if text is not None:
        _print(text)
    return 0


def _print(text: str) -> None:
    """Print the output. A reader that went away (`eniops iam-policy | head`) is quiet; a
    closed or full stdout is one line on stderr. Neither changes the exit code: what was done
    was done."""
    out = sys.stdout
    try:
        if out is None:  # started with stdout closed
            raise OSError("standard output is closed")
        out.write(text + "\n")
        out.flush()
    except BrokenPipeError:
        _silence_stdout()
    except (OSError, ValueError) as err:  # ValueError: a closed file object
        _silence_stdout()
        sys.stderr.write(f"eniops: the output could not be written: {err}\n")


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush cannot fail too."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _fail(args: argparse.Namespace, err: BaseException, code: int) -> int:
    if args.verbose:
        import traceback  # noqa: PLC0415

        traceback.print_exception(err)
    reason = getattr(err, "reason", None)
    label = type(err).__name__ + (f" ({reason})" if reason else "")
    message = " ".join(str(err).split())
    sys.stderr.write(f"eniops: {label}: {message}\n")
    if code in (EXIT_SIGINT, EXIT_SIGTERM) and isinstance(err, EniopsError):
        where = err.details.get("resources")
        if where:
            sys.stderr.write(f"eniops: where everything is: {json.dumps(where, default=str)}\n")
    if args.output == "json":
        data = (
            err.to_dict()
            if isinstance(err, EniopsError)
            else {"type": type(err).__name__, "reason": None, "message": message, "details": {}}
        )
        _print(json.dumps({"error": data}, indent=2, default=str))
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
