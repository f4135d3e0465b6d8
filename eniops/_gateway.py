"""The EC2 gateway: the only module that talks to boto3 and botocore.

It builds clients (a role to assume included), makes every call under the operation's
deadline, retries throttling, server errors and network failures with tenacity, re-reads a
first `NotFound` briefly (EC2's eventual consistency), sends `DryRun`, and turns what the
lower layer raises into eniops errors.

Retries happen in one layer only. Clients eniops builds have botocore's retries off; on a
client passed in as `ec2=`, a `needs-retry` handler registered first answers "no retry" for
eniops' own calls (and only for them), so the caller's client is otherwise untouched.
Every call runs on a worker thread and is abandoned when the deadline (for a change: the
deadline plus a short in-flight allowance) passes: a hung endpoint cannot stretch a deadline,
whatever timeouts the client was built with.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, NoReturn

from . import _codes
from ._deadline import Deadline
from ._errors import (
    AwsError,
    Conflict,
    EniopsError,
    Interrupted,
    InvalidInput,
    NotFound,
    OperationTimeout,
    PermissionDenied,
    PreconditionFailed,
)
from ._settings import RetryPolicy, StopRequest
from ._version import user_agent

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_ec2 import EC2Client
    from tenacity import RetryCallState

#: botocore exceptions (by class name) that mean the network failed before EC2 answered.
TRANSIENT_EXCEPTIONS = frozenset(
    {
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
        "ProxyConnectionError",
    }
)
#: botocore exceptions that mean no credentials could be found.
CREDENTIAL_EXCEPTIONS = frozenset({"NoCredentialsError", "PartialCredentialsError"})
#: The session name of an assumed role, as CloudTrail shows it.
ROLE_SESSION_NAME = "eniops"

_eniops_call = threading.local()


class _NoRetry(Exception):  # a signal out of botocore's retry loop
    """An error answer to an eniops call, handed back before botocore could retry it."""

    def __init__(self, response: Any, operation: str) -> None:
        super().__init__(operation)
        self.response = response
        self.operation = operation


def _veto_retry(
    response: Any = None, caught_exception: Any = None, operation: Any = None, **_: Any
) -> None:
    """`needs-retry` handler, first in line: for eniops' own calls, end botocore's retry loop
    at the first failure (eniops retries them itself); other calls are left alone.

    It raises rather than answering "no retry", which botocore versions read differently
    (older ones take False as "retry after 0 seconds").
    """
    if not getattr(_eniops_call, "active", False):
        return
    if caught_exception is not None:
        raise caught_exception
    http = response[0] if response else None
    if http is not None and getattr(http, "status_code", 200) >= 300:
        raise _NoRetry(response, getattr(operation, "name", ""))


def _single_layer(client: Any) -> None:
    """Make botocore leave retries of eniops' calls to eniops (idempotent)."""
    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register_first(
        f"needs-retry.{service}", _veto_retry, unique_id="eniops-single-retry-layer"
    )


def build_client(
    *,
    ec2: EC2Client | None = None,
    session: boto3.session.Session | None = None,
    region: str | None = None,
    role_arn: str | None = None,
    endpoint_url: str | None = None,
    timeout_s: float | None = None,
    profile: str | None = None,
) -> EC2Client:
    """Return `ec2` as given, else a client from `session` (or a session of the named AWS
    `profile`, or the default session).

    With `role_arn`, the client uses that role's credentials (STS AssumeRole, session name
    ``eniops``), fetched when the first call is signed and refreshed before they expire.
    Clients built here have botocore's retries off and short timeouts.
    """
    if ec2 is not None:
        _single_layer(ec2)
        return ec2
    import boto3.session  # noqa: PLC0415  (kept out of `import eniops`: cold starts)
    from botocore.config import Config  # noqa: PLC0415
    from botocore.exceptions import BotoCoreError  # noqa: PLC0415

    config = Config(
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=min(3.0, timeout_s or 3.0),
        read_timeout=min(20.0, timeout_s or 20.0),
        user_agent_extra=user_agent(),
        max_pool_connections=50,
    )
    try:
        chosen = session if session is not None else boto3.session.Session(profile_name=profile)
        if role_arn is not None:
            chosen = _assumed(chosen, role_arn, region)
        client = chosen.client("ec2", region_name=region, endpoint_url=endpoint_url, config=config)
    except BotoCoreError as err:
        raise InvalidInput(f"cannot build an EC2 client: {err}") from err
    _single_layer(client)
    return client


def _assumed(
    session: boto3.session.Session, role_arn: str, region: str | None
) -> boto3.session.Session:
    """A session whose credentials are `role_arn`'s, refreshed through STS as they expire."""
    import boto3.session  # noqa: PLC0415
    import botocore.session  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415
    from botocore.credentials import (  # noqa: PLC0415
        AssumeRoleCredentialFetcher,
        DeferredRefreshableCredentials,
    )

    source = session.get_credentials()
    if source is None:
        raise PermissionDenied(
            f"no credentials to assume {role_arn} with", code="NoCredentialsError", operation="STS"
        )
    region_name = region or session.region_name
    sts_config = Config(
        retries={"mode": "standard", "total_max_attempts": 2},
        connect_timeout=3.0,
        read_timeout=5.0,
        user_agent_extra=user_agent(),
    )

    def sts_client(service: str, **credentials: Any) -> Any:
        client: Any = session.client
        return client(service, region_name=region_name, config=sts_config, **credentials)

    fetcher = AssumeRoleCredentialFetcher(
        client_creator=sts_client,
        source_credentials=source,
        role_arn=role_arn,
        extra_args={"RoleSessionName": ROLE_SESSION_NAME},
    )
    core = botocore.session.Session()
    # botocore's own assume-role profiles set the session's credentials this way.
    core._credentials = DeferredRefreshableCredentials(  # type: ignore[attr-defined]
        method="assume-role", refresh_using=_checked_refresh(fetcher.fetch_credentials, role_arn)
    )
    return boto3.session.Session(botocore_session=core, region_name=region_name)


def _checked_refresh(
    fetch: Callable[[], dict[str, Any]], role_arn: str
) -> Callable[[], dict[str, Any]]:
    """`fetch` (STS AssumeRole), with what botocore would raise as a bare `KeyError` (an
    answer that does not read) or `RuntimeError` (credentials that are expired already)
    raised as its `CredentialRetrievalError`, which eniops reports as an AWS error."""
    from botocore.exceptions import (  # noqa: PLC0415
        BotoCoreError,
        ClientError,
        CredentialRetrievalError,
    )
    from botocore.utils import parse_timestamp  # noqa: PLC0415

    def refresh() -> dict[str, Any]:
        try:
            metadata = fetch()
            expires = parse_timestamp(metadata["expiry_time"])
        except (BotoCoreError, ClientError):
            raise
        except Exception as err:
            raise CredentialRetrievalError(
                provider="assume-role",
                error_msg=f"STS's answer to AssumeRole {role_arn} does not read "
                f"({type(err).__name__})",
            ) from err
        if expires <= datetime.now(timezone.utc):
            raise CredentialRetrievalError(
                provider="assume-role",
                error_msg=f"STS answered AssumeRole {role_arn} with credentials that expired "
                f"at {expires.isoformat()} (is this machine's clock right?)",
            )
        return metadata

    return refresh


# -- errors --------------------------------------------------------------------------------


def _error_parts(err: BaseException) -> tuple[str, str, str | None, int | None]:
    response = getattr(err, "response", None) or {}
    error = response.get("Error") or {}
    meta = response.get("ResponseMetadata") or {}
    return (
        str(error.get("Code", type(err).__name__)),
        str(error.get("Message", err)),
        meta.get("RequestId"),
        meta.get("HTTPStatusCode"),
    )


def _is_client_error(err: BaseException) -> bool:
    # botocore's ClientError without importing botocore at module level.
    return hasattr(err, "response") and isinstance(getattr(err, "response", None), dict)


def error_code(err: BaseException) -> str:
    """EC2's error code of `err` (or the exception's class name)."""
    return _error_parts(err)[0]


def translate(
    err: Exception, operation: str, details: Mapping[str, Any] | None = None
) -> EniopsError:
    """Turn a botocore error into the eniops error its code stands for."""
    code, message, request_id, status = _error_parts(err)
    rule = _codes.rule_for(code, status)
    context = {"code": code, "operation": operation, **(details or {})}
    text = f"{operation}: {code}: {message}"
    if rule.translation == "permission":
        return PermissionDenied(text, code=code, operation=operation, request_id=request_id)
    if rule.translation == "not-found":
        return NotFound(text, details=context)
    if rule.translation == "conflict" and rule.reason:
        return Conflict(rule.reason, text, details=context)  # type: ignore[arg-type]
    if rule.translation == "precondition" and rule.reason:
        return PreconditionFailed(rule.reason, text, details=context)  # type: ignore[arg-type]
    return AwsError(
        text, code=code, operation=operation, request_id=request_id, details=dict(details or {})
    )


def translate_local(err: Exception, operation: str) -> EniopsError | None:
    """Translate botocore's client-side errors (no answer from EC2), else None."""
    name = type(err).__name__
    if name in CREDENTIAL_EXCEPTIONS:
        return PermissionDenied(f"{operation}: {err}", code=name, operation=operation)
    if name in TRANSIENT_EXCEPTIONS or (
        name.endswith("Error") and "botocore" in type(err).__module__
    ):
        return AwsError(f"{operation}: {err}", code=name, operation=operation)
    return None


def _raise_translated(err: Exception, operation: str) -> NoReturn:
    """Raise the eniops error `err` stands for (eniops' own errors pass through)."""
    if isinstance(err, EniopsError):
        raise err
    translated = (
        translate(err, operation) if _is_client_error(err) else translate_local(err, operation)
    )
    if translated is None:
        raise err
    raise translated from err


# -- calls -----------------------------------------------------------------------------------


class _Abandoned(Exception):
    """A call did not answer within its bound; it may still complete on EC2's side."""


def _invoke(method: Callable[..., Any], params: Mapping[str, Any], limit_s: float) -> Any:
    """Call `method(**params)` on a worker thread; give up after `limit_s` seconds."""
    box: dict[str, Any] = {}
    finished = threading.Event()

    def run() -> None:
        _eniops_call.active = True
        try:
            box["value"] = method(**params)
        except _NoRetry as answer:
            from botocore.exceptions import ClientError  # noqa: PLC0415

            box["error"] = ClientError(answer.response[1], answer.operation)
        except BaseException as err:  # handed to the waiting thread
            box["error"] = err
        finally:
            finished.set()

    worker = threading.Thread(target=run, name="eniops-call", daemon=True)
    worker.start()
    if not finished.wait(max(0.0, limit_s)):
        raise _Abandoned
    if "error" in box:
        raise box["error"]
    return box["value"]


class Gateway:
    """Every EC2 call of one operation, under one deadline."""

    def __init__(
        self,
        client: EC2Client,
        deadline: Deadline,
        *,
        policy: RetryPolicy,
        stop: StopRequest | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.deadline = deadline
        self.policy = policy
        self.stop = stop
        self._sleep = sleep

    def past_deadline(self) -> Gateway:
        """A gateway for the one read of where everything is, allowed past the deadline."""
        return Gateway(
            self.client, Deadline(self.policy.final_read_s), policy=self.policy, sleep=self._sleep
        )

    def call(
        self,
        operation: str,
        params: Mapping[str, Any],
        *,
        change: bool = False,
        first_read: bool = False,
        before_retry: Callable[[BaseException], None] | None = None,
    ) -> dict[str, Any]:
        """Call EC2 `operation` (e.g. "DescribeAddresses") with retries; translate errors.

        Throttling, 5xx and network failures are retried with capped, full-jitter backoff
        while the deadline allows; a `first_read` answering NotFound is re-read briefly.
        No change starts after the deadline, and none is retried after a stop was asked for;
        `before_retry(error)` runs before a change is sent again: a fresh read that may
        find the change in place or the resource taken (and raise to stop the retries).
        """
        attempts = [0]
        try:
            return self._call_with_retries(
                operation,
                params,
                attempts,
                change=change,
                first_read=first_read,
                before_retry=before_retry,
            )
        except Exception as err:
            try:
                _raise_translated(err, operation)
            except EniopsError as translated:
                if change:
                    translated.details.setdefault("attempts", attempts[0])
                raise

    def dry_run(self, operation: str, params: Mapping[str, Any]) -> None:
        """Ask EC2 whether `operation` would succeed (DryRun=True), changing nothing.

        Raises `PermissionDenied` (UnauthorizedOperation), the error EC2 answered, or an
        `AwsError` if the endpoint carried the call out (it ignored DryRun).
        """
        try:
            self._call_with_retries(operation, {**params, "DryRun": True}, [0], change=True)
        except Exception as err:
            if _is_client_error(err) and error_code(err) == _codes.DRY_RUN_OPERATION:
                return
            _raise_translated(err, operation)
        raise AwsError(
            f"{operation} with DryRun=True made the change",
            code=_codes.DRY_RUN_IGNORED,
            operation=operation,
        )

    def _call_with_retries(
        self,
        operation: str,
        params: Mapping[str, Any],
        attempts: list[int],
        *,
        change: bool,
        first_read: bool = False,
        before_retry: Callable[[BaseException], None] | None = None,
    ) -> dict[str, Any]:
        from botocore import xform_name  # noqa: PLC0415
        from tenacity import Retrying, retry_if_exception  # noqa: PLC0415

        one = _OneCall(self, operation, change=change, first_read=first_read)
        method = getattr(self.client, xform_name(operation))

        def attempt() -> dict[str, Any]:
            one.before_attempt(before_retry)
            attempts[0] += 1
            limit = self.deadline.remaining() + (self.policy.in_flight_s if change else 0.0)
            try:
                result: dict[str, Any] = _invoke(method, params, limit)
            except BaseException as err:
                one.errors.append(err)
                raise
            return result

        retrying = Retrying(
            retry=retry_if_exception(one.retryable),
            wait=one.wait,
            stop=one.stop,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _Abandoned as err:
            raise self.deadline.timeout_error(
                f"waiting for EC2 to answer {operation}",
                {"operation": operation, "sent": True, "answered": False},
            ) from err
        except EniopsError:
            raise
        except Exception as err:
            final = one.ended(err)
            if final is err:
                raise
            raise final from err


class _OneCall:
    """The retry decisions of one call: what to retry, how long to wait, when to stop."""

    def __init__(self, gateway: Gateway, operation: str, *, change: bool, first_read: bool) -> None:
        self.gateway = gateway
        self.operation = operation
        self.change = change
        self.first_read = first_read
        self.started = time.monotonic()
        self.errors: list[BaseException] = []
        self.why_stopped = ""

    def before_attempt(self, before_retry: Callable[[BaseException], None] | None) -> None:
        """No change after the deadline; before a change is sent again, its fresh read."""
        deadline = self.gateway.deadline
        if self.change and self.errors and before_retry is not None:
            before_retry(self.errors[-1])
        if deadline.expired():
            doing = (
                f"about to call {self.operation}" if self.change else f"reading {self.operation}"
            )
            context: dict[str, Any] = {"operation": self.operation}
            if self.change:
                context["sent"] = False
            raise deadline.timeout_error(doing, context)

    def retryable(self, err: BaseException) -> bool:
        """Throttling, 5xx and network failures; a first read's NotFound, briefly."""
        if isinstance(err, _Abandoned) or type(err).__name__ in TRANSIENT_EXCEPTIONS:
            return True
        if not _is_client_error(err):
            return False
        code, _, _, status = _error_parts(err)
        rule = _codes.rule_for(code, status)
        if rule.translation == "retry":
            return True
        return (
            self.first_read
            and rule.translation == "not-found"
            and time.monotonic() - self.started < self.gateway.policy.not_found_window_s
        )

    def wait(self, state: RetryCallState) -> float:
        """Full-jitter exponential backoff (shorter for an eventual-consistency NotFound)."""
        policy = self.gateway.policy
        err = state.outcome.exception() if state.outcome else None
        if err is not None and error_code(err) in _codes.NOT_FOUND_CODES:
            first, cap = policy.not_found_first_s, policy.not_found_cap_s
        else:
            first, cap = policy.backoff_first_s, policy.backoff_cap_s
        return random.uniform(0, min(cap, first * 2 ** (state.attempt_number - 1)))

    def stop(self, state: RetryCallState) -> bool:
        """At the deadline (no attempt count); for a change, also once a stop was asked for."""
        stop = self.gateway.stop
        if self.change and stop is not None and stop.requested:
            self.why_stopped = "interrupted"
            return True
        if self.gateway.deadline.remaining() <= state.upcoming_sleep:
            self.why_stopped = "deadline"
            return True
        return False

    def ended(self, err: Exception) -> Exception:
        """What the call's last error means once the retries have stopped."""
        gateway = self.gateway
        if self.why_stopped == "interrupted":
            return Interrupted(
                f"stopped before {self.operation} was sent again",
                signal=gateway.stop.signal if gateway.stop else None,
                details={"operation": self.operation},
            )
        if self.why_stopped or (
            type(err).__name__ in TRANSIENT_EXCEPTIONS and gateway.deadline.expired()
        ):
            code = error_code(err)
            return gateway.deadline.timeout_error(
                f"calling {self.operation} (EC2 kept answering {code})",
                {"operation": self.operation, "last_code": code, "sent": self.change},
            )
        return err


def is_throttling(err: BaseException) -> bool:
    """True for an answer that refused the call for its rate: it was not carried out."""
    return _is_client_error(err) and error_code(err) in _codes.THROTTLING_CODES


def is_refusal(err: EniopsError) -> bool:
    """True when EC2 clearly refused a call (so it had no effect), as opposed to an error
    that leaves open whether it was carried out (5xx, throttling, network, no answer)."""
    if isinstance(err, (OperationTimeout, Interrupted)):
        return False
    if isinstance(err, AwsError):
        rule = _codes.rule_for(err.code)
        return rule.translation != "retry" and err.code not in TRANSIENT_EXCEPTIONS
    return True
