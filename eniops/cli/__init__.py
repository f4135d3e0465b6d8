"""The `eniops` command: the same operations for ops scripts and HA notify scripts.

Its commands are built from the operations' registry: each operation's keyword arguments
become options, so the command line cannot drift from the library.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._core import _inputs, _threads, _version
from .._core._errors import EXIT_SIGINT, EXIT_SIGTERM, EniopsError, InvalidInput, exit_code_for
from . import _aws_files, _completion
from ._parser import EXIT_USAGE, build_parser

#: `eniops check`: a pair that is not ready exits as a failed precondition does.
EXIT_NOT_READY = 3

if TYPE_CHECKING:
    from types import FrameType

    #: What `signal.signal` sets and gives back.
    Handler = Callable[[int, FrameType | None], object] | int | signal.Handlers | None
    from mypy_boto3_ec2 import EC2Client

    from .._core._json import Json
    from .._core._keywords import CheckKeywords
    from .._core._result import ZoneReadiness
    from .._imds import Imds
    from .._registry import OperationSpec

# -- running ----------------------------------------------------------------------------------


def _client(args: argparse.Namespace) -> EC2Client:
    """The EC2 client for this command (built from the global options)."""
    # Lazy: boto3, botocore and tenacity (16 ms) load only for a command that calls AWS.
    from .._gateway import build_client  # noqa: PLC0415

    return build_client(
        profile=args.profile,
        region=args.region,
        role_arn=args.role_arn,
        external_id=args.external_id,
        instance=getattr(args, "self_instance", None),  # names an assumed role's session
        endpoint_url=args.endpoint_url,
        timeout_s=args.timeout,
    )


def _imds(args: argparse.Namespace) -> Imds:
    """The IMDS client of the endpoint the environment or the profile names."""
    # Lazy: the IMDS client and the gateway (22 ms) load only for --self and whoami.
    from .._gateway import imds_settings  # noqa: PLC0415
    from .._imds import Imds  # noqa: PLC0415

    return Imds.configured(imds_settings(getattr(args, "profile", None)))


def _this_instance(args: argparse.Namespace) -> str:
    imds = _imds(args)
    if args.region is None:
        args.region = imds.region()
    args.self_instance = imds.instance_id()
    return str(args.self_instance)


def _operation_kwargs(args: argparse.Namespace, spec: OperationSpec) -> dict[str, object]:
    kwargs: dict[str, object] = {}
    for name in spec.keywords:
        value = getattr(args, name, None)
        if value is None:
            continue
        kwargs[name] = tuple(value) if isinstance(value, list) else value
    if getattr(args, "to_self", False):
        kwargs[spec.self_targets[0]] = _this_instance(args)
    return kwargs


def _run_operation(args: argparse.Namespace, spec: OperationSpec) -> tuple[Json, str]:
    """Run one registered operation; return what it returned and its kind of view."""
    kwargs = _operation_kwargs(args, spec)
    if args.timeout is not None:
        kwargs["timeout"] = args.timeout
    if spec.mutating:
        kwargs["mode"] = "plan" if args.plan else "dry-run" if args.dry_run else "apply"
    if "require_tag" in spec.common:
        kwargs["require_tag"] = args.require_tag
    if spec.zone_form:
        _one_form(args, spec)
        if args.zone is not None:
            return _check_zone(args).to_dict(), "zone-readiness"
    value = spec.function(getattr(args, spec.positional), ec2=_client(args), **kwargs)
    if isinstance(value, dict):  # describe's description
        # Lazy: describe's types (2 ms), loaded by now with the operation; never for --help.
        from .._state._descriptions import as_json  # noqa: PLC0415

        return as_json(value), "show"
    kind = "evacuation" if spec.name == "evacuate" else "result" if spec.mutating else "readiness"
    return value.to_dict(), kind


def _one_form(args: argparse.Namespace, spec: OperationSpec) -> None:
    """A command with a zone form takes `--zone` (and `--pairs`) or its own arguments, not
    both, never neither: else exit 2 before any call."""
    own = getattr(args, spec.positional) is not None
    target = any(getattr(args, n, None) for g in spec.one_of for n in g) or args.to_self
    if args.zone is not None and (own or target):
        raise InvalidInput(f"--zone stands for {spec.positional.upper()} and its target: not both")
    if args.zone is None and args.pairs is not None:
        raise InvalidInput("--pairs goes with --zone")
    if args.zone is None and not (own and target):
        raise InvalidInput(
            f"{spec.command[0]} needs {spec.positional.upper()} and its target, or --zone"
        )


def _check_zone(args: argparse.Namespace) -> ZoneReadiness:
    """`check --zone`: the readiness of every pair whose active instance is in the zone."""
    # Lazy: the operations' core (80 ms) only for a command that runs one.
    from .._ops.evacuate import check_zone  # noqa: PLC0415

    keywords: CheckKeywords = {"ec2": _client(args), "require_tag": args.require_tag}
    if args.timeout is not None:
        keywords["timeout"] = args.timeout
    return check_zone(args.zone, pairs=args.pairs, **keywords)


def _run(args: argparse.Namespace) -> tuple[Json, str]:
    """Dispatch a parsed command; return what to print and how it reads as text."""
    # Lazy: the registry (3 ms) loads once a command runs, never for --help.
    from .. import _registry  # noqa: PLC0415

    if args.command == "iam-policy":
        return _registry.iam_policy(args.operations, require_tag=args.require_tag), "json"
    if args.command == "demo":
        # Lazy: the demo (6 ms, and moto) loads only for `eniops demo`.
        from ..demo import run_demo  # noqa: PLC0415

        run_demo(output=args.output)
        return None, "none"
    if args.command == "completion":
        return _completion.script(args.shell), "raw"
    if args.command == "whoami":
        imds = _imds(args)
        found = {"instance": imds.instance_id(), "region": imds.region()}
        return {**found, **imds.addresses()}, "whoami"
    if args.command == "ha-script":
        # Lazy: the shipped files' reader (importlib.resources, 5 ms) loads only for them.
        from ._scripts import script_text  # noqa: PLC0415

        return script_text(args.name), "raw"
    if args.command == "docs":
        # Lazy: the shipped files' reader (importlib.resources, 5 ms) loads only for them.
        from ._scripts import reference_text  # noqa: PLC0415

        return reference_text().rstrip("\n"), "raw"
    return _run_operation(args, _registry.BY_NAME[args.spec])


def _compiled(query: str | None) -> Any:
    """`--query` as a compiled JMESPath expression: a bad one is exit 2 before any call."""
    if query is None:
        return None
    # Lazy: jmespath (3 ms) only for --query.
    import jmespath  # noqa: PLC0415  (comes with botocore)
    from jmespath.exceptions import JMESPathError  # noqa: PLC0415

    try:
        return jmespath.compile(query)
    except JMESPathError as err:
        raise InvalidInput(f"--query {query!r}: {' '.join(str(err).split())}") from err


def _rendered(value: Json, view: str, args: argparse.Namespace) -> str:
    # Lazy: rendering (1 ms) loads only once there is something to print.
    from . import _render as render  # noqa: PLC0415

    if view == "raw":
        return str(value)
    if args.compiled_query is not None:
        # Lazy: jmespath (3 ms) only for --query.
        from jmespath.exceptions import JMESPathError  # noqa: PLC0415

        try:
            value, view = args.compiled_query.search(value), "query"
        except JMESPathError as err:  # a type error found only on the data
            if view != "result":
                raise InvalidInput(f"--query {args.query!r}: {err}") from err
            # The change was made: say what it did, whole, and keep its exit code.
            why = " ".join(str(err).split())
            sys.stderr.write(f"eniops: --query {args.query!r} fails on the result ({why}): ")
            sys.stderr.write("the result is printed whole\n")
    if args.output == "json":
        return render.as_json(value)
    # Lazy: the AWS CLI's text and table formats (3 ms) load only when asked for.
    from . import _formats  # noqa: PLC0415

    # Tag values are anyone's words: no control character or bidirectional override reaches
    # the terminal, and no tab or newline inside a value starts a field or a line.
    value = _formats.escaped(value)

    if args.output == "table":
        return _formats.aws_table(_title(args), value, _terminal_width())
    texts: dict[str, Callable[[Any], str]] = {
        "result": render.result_text,
        "show": render.show_text,
        "readiness": render.readiness_text,
        "evacuation": render.evacuation_text,
        "zone-readiness": render.zone_readiness_text,
        "json": render.as_json,
    }
    if args.output == "text" or view not in texts:  # a --query pick, whoami: as the AWS CLI
        return _formats.aws_text(value)
    return texts[view](value)


#: What `--output` may be (`summary`: for people, when nothing else is asked for).
OUTPUTS = ("json", "text", "table")


def _configured_output(profile: str | None) -> str:
    """The output the AWS CLI would use here: AWS_DEFAULT_OUTPUT, else the profile's
    `output` (in AWS_CONFIG_FILE or ~/.aws/config); one eniops cannot print (yaml) or none:
    the summary for people."""
    wanted = os.environ.get("AWS_DEFAULT_OUTPUT") or _profile_output(profile)
    return wanted if wanted in OUTPUTS else "summary"


def _profile_output(profile: str | None) -> str | None:

    return _aws_files.CONFIG.profiles().get(_aws_files.profile_name(profile), {}).get("output")


def _title(args: argparse.Namespace) -> str:
    """The table's title, as the AWS CLI titles one by its operation (``RemapEip``)."""
    name = getattr(args, "spec", None) or args.command or "eniops"
    return "".join(word.capitalize() for word in name.replace("-", "_").split("_"))


def _terminal_width() -> int:
    try:
        return os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 80


def _progress(doing: str, elapsed: float) -> None:
    sys.stderr.write(f"\r... {doing} ({elapsed:.1f}s)\x1b[K")
    sys.stderr.flush()


class _Signals:
    """While a command runs: SIGINT and SIGTERM ask it to stop (no new change starts, the
    call in flight finishes, where everything is gets printed). A repeated signal changes
    nothing: the first one's exit code and report stand (the call in flight is bounded)."""

    def __init__(self) -> None:
        # Lazy: settings (3 ms) load only once a command runs, never for --help.
        from .._core._settings import StopRequest  # noqa: PLC0415

        self.stop = StopRequest()
        self._previous: dict[int, Handler] = {}

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
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


def _checked_region(args: argparse.Namespace) -> None:
    """The region, from --region, AWS_REGION (as the AWS CLI reads it), AWS_DEFAULT_REGION or
    the profile, checked against botocore's regions wherever it is set (a typo is exit 2
    naming the closest ones, before any call, not a retry until the deadline); with
    --endpoint-url any name goes."""
    # Lazy: boto3, botocore and tenacity (16 ms) load only once a command runs, never for --help.
    from .._gateway import configured_region, known_regions  # noqa: PLC0415

    source = "--region"
    if args.region is None and os.environ.get("AWS_REGION"):
        args.region, source = os.environ["AWS_REGION"], "AWS_REGION"
    region = args.region
    if region is None:
        region, source = configured_region(getattr(args, "profile", None))
    named_by_url = getattr(args, "endpoint_url", None) is not None
    _inputs.region(region, None if named_by_url else known_regions(), source)


def _prepare(args: argparse.Namespace) -> None:
    # Global values are checked before anything is asked of IMDS or EC2.
    _inputs.endpoint_url(getattr(args, "endpoint_url", None), "--endpoint-url")
    _checked_region(args)
    _inputs.role_arn(getattr(args, "role_arn", None), "--role-arn")
    if getattr(args, "role_arn", None) is not None and getattr(args, "external_id", None) is None:
        args.external_id = os.environ.get("ENIOPS_EXTERNAL_ID") or None
    _inputs.external_id(getattr(args, "external_id", None), "--external-id")
    if getattr(args, "external_id", None) is not None and getattr(args, "role_arn", None) is None:
        raise InvalidInput("--external-id goes with --role-arn")
    if getattr(args, "timeout", None) is not None:
        _inputs.timeout(args.timeout, "--timeout")
    args.compiled_query = _compiled(args.query)
    if getattr(args, "output", None) is None:
        args.output = _configured_output(getattr(args, "profile", None))
    if args.verbose:
        _logging(args)


def _logging(args: argparse.Namespace) -> None:
    """eniops' own records on stderr: -v INFO and up, -vv DEBUG (each EC2 call); as text, or
    one JSON object a line (`--log-format json`: the keys the Lambda's lines use), each with
    this command's correlation id. Only eniops' loggers: botocore's say headers."""
    # Lazy: logging (3 ms) and uuid (2 ms) once a command runs, never for --help.
    import logging  # noqa: PLC0415
    import uuid  # noqa: PLC0415

    # Lazy: logging (5 ms) loads only once a command runs, never for --help.
    from .._core._log import JsonLines, logger  # noqa: PLC0415

    correlation = uuid.uuid4().hex[:16]

    def fields(record: logging.LogRecord) -> bool:
        found = dict(getattr(record, "fields", {}))
        found.setdefault("correlation_id", correlation)
        record.fields = found
        return True

    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(fields)
    text = logging.Formatter("%(levelname)s %(name)s: %(message)s")
    handler.setFormatter(JsonLines() if args.log_format == "json" else text)
    root = logger("eniops")
    was = (root.level, root.propagate)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if args.verbose > 1 else logging.INFO)
    root.propagate = False

    def undo() -> None:  # main() runs more than once in a process (tests, an embedding)
        root.removeHandler(handler)
        root.setLevel(was[0])
        root.propagate = was[1]

    args.undo_logging = undo


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)

    _completion.answer(parser)  # a shell asking for completions: answered, and the process ends
    args = parser.parse_args(argv)
    if args.version:
        print(f"eniops {_version.version()}")
        return 0
    if args.command is None:
        parser.print_usage(sys.stderr)
        return EXIT_USAGE
    # Lazy: settings (3 ms) load only once a command runs, never for --help.
    from .._core._settings import use_settings  # noqa: PLC0415

    terminal = sys.stderr.isatty()
    with (
        _Signals() as signals,
        use_settings(progress=_progress if terminal else None, stop=signals.stop),
    ):
        try:
            _prepare(args)
            value, view = _run(args)
            text = _rendered(value, view, args) if value is not None else None
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
            getattr(args, "undo_logging", lambda: None)()
    if text is not None:
        _print(text)
    return _exit_code(value, view)


def _exit_code(value: Json, view: str) -> int:
    """0, but for a check not ready (3) and an evacuation whose pairs did not all move or
    have nothing to move (the highest exit code among them): as the printed data says."""
    if not isinstance(value, Mapping):
        return 0
    if view == "readiness":
        return 0 if value.get("ready") is True else EXIT_NOT_READY
    if view == "zone-readiness":
        pairs = value.get("pairs")
        checks = (
            [p.get("readiness") for p in pairs if isinstance(p, Mapping)]
            if isinstance(pairs, list)
            else []
        )
        ready = all(isinstance(c, Mapping) and c.get("ready") is True for c in checks)
        return 0 if ready else EXIT_NOT_READY
    if view == "evacuation":
        code = value.get("exit_code")
        return code if isinstance(code, int) else 1
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
        # Lazy: traceback (1 ms) only for a crash, to say where.
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


def run() -> None:
    """The `eniops` command: `main`, then exit at once, without waiting for a call to EC2
    that an operation gave up on at its deadline (it would hold the process until the
    client's read timeout)."""
    code = main()
    if _threads.running():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
