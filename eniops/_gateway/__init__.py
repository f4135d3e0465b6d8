"""The EC2 gateway: the only code that talks to boto3 and botocore.

It builds clients (a role to assume included), makes every call under the operation's
deadline, retries throttling, server errors and network failures with tenacity, re-reads a
first `NotFound` briefly (EC2's eventual consistency), sends `DryRun`, and turns what the
lower layer raises into eniops errors.

Retries happen in one layer only. Clients eniops builds have botocore's retries off; on a
client passed in as `ec2=`, a `needs-retry` handler registered first answers "no retry" for
eniops' own calls (and only for them), so the caller's client is otherwise untouched.
Every call runs on the process's pool (`eniops._core._threads`) and is abandoned when the
deadline (for a change: the deadline plus a short in-flight allowance) passes: a hung
endpoint cannot stretch a deadline, whatever timeouts the client was built with.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any, TypeAlias

from .._core import _codes, _threads
from .._core._deadline import Deadline
from .._core._errors import AwsError, EniopsError, Interrupted
from .._core._json import JsonDict
from .._core._settings import Clock, RetryPolicy, StopRequest
from . import _logs, _retries
from ._clients import (
    UnreadableAnswer,
    _eniops_call,
    _NoRetry,
    build_client,
    configured_region,
    imds_settings,
    known_regions,
    sibling,
)
from ._limiter import Limiter, limiter_for
from ._translate import answered_by, error_code, translate

if TYPE_CHECKING:
    from botocore.client import BaseClient

#: A call's parameters as boto3 takes them (boto3 checks them against the service's model).
Sent: TypeAlias = "Mapping[str, object]"

__all__ = [
    "Gateway",
    "build_client",
    "configured_region",
    "error_code",
    "imds_settings",
    "known_regions",
    "pages",
    "translate",
]


class _Abandoned(Exception):
    """A call did not answer within its bound; it may still complete on EC2's side."""


def _invoke(method: Callable[..., Any], params: Sent, limit_s: float, endpoint: str = "") -> Any:
    """Call `method(**params)` (a client's, at `endpoint`) on the pool; give up waiting after
    `limit_s` seconds. On the pool already (the executor's loop holds this call's future and
    its bound), call it in place."""

    def call() -> Any:
        _eniops_call.active = True
        _eniops_call.status = None
        try:
            return method(**params)
        except _NoRetry as answer:
            # Lazy: botocore (95 ms) stays out of `import eniops`, the Lambda's init and a command
            # that calls nothing, until a client is built.
            from botocore.exceptions import ClientError  # noqa: PLC0415

            raise ClientError(answer.response[1], answer.operation) from None
        except BaseException as err:
            readable = _readable(err, endpoint)
            if readable is err:
                raise
            raise readable from err

    if _threads.on_pool():
        return call()
    future = _threads.submit(call)
    try:
        return future.result(timeout=max(0.0, limit_s))
    except FutureTimeout:
        raise _Abandoned from None


def _method_of(client: Any, operation: str) -> Callable[..., Any]:
    """The client's method for EC2 `operation` (``AttachNetworkInterface``: its
    ``attach_network_interface``)."""
    # Lazy: botocore (95 ms) stays out of `import eniops`, the Lambda's init and a command that
    # calls nothing, until a client is built.
    from botocore import xform_name  # noqa: PLC0415

    return getattr(client, xform_name(operation))  # type: ignore[no-any-return]


def _admitted(
    client: Any,
    operation: str,
    deadline: Deadline,
    *,
    clock: Clock,
    stop: StopRequest | None,
) -> Limiter | None:
    """Wait for `operation`'s token in the process's budget of the account and Region
    `client` calls (None: not EC2's), never past the deadline (a call in flight may run on a
    little, a call waiting for its token never starts after it) nor a stop request: then it
    is not sent at all."""
    limiter = limiter_for(client)
    wait = limiter.reserve(operation) if limiter is not None else 0.0
    if limiter is None or wait <= 0:
        return limiter
    if wait > deadline.remaining():
        limiter.give_back(operation)
        said: JsonDict = {"operation": operation, "sent": False}
        why = f"waiting {wait:.1f} s for EC2's request budget to call {operation}"
        if limiter.slowed(operation):  # EC2 kept throttling: say so, as a retried read does
            said["last_code"] = _codes.REQUEST_LIMIT_EXCEEDED
            why += f" (EC2 kept answering {_codes.REQUEST_LIMIT_EXCEEDED})"
        raise deadline.timeout_error(why, said)
    clock.sleep(wait)
    if stop is not None and stop.requested:
        limiter.give_back(operation)
        raise Interrupted(
            f"stopped before calling {operation}",
            signal=stop.signal,
            details={"operation": operation, "sent": False},
        )
    return limiter


def _heard(limiter: Limiter | None, operation: str, err: BaseException | None) -> None:
    """Tell the limiter what EC2 answered `operation` (a throttle lowers its refill); a call
    that never answered tells it nothing, and a throttle STS answered while the call's
    credentials were fetched is not EC2's (the call never reached EC2)."""
    if limiter is not None and not isinstance(err, _Abandoned):
        throttled = (
            err is not None
            and error_code(err) in _codes.THROTTLING_CODES
            and not answered_by(err, operation)
        )
        limiter.answered(operation, throttled=throttled)


def _readable(err: BaseException, endpoint: str) -> BaseException:
    """botocore's parse error (an answer that is not the service's) as `UnreadableAnswer`,
    naming the endpoint and the HTTP status its `before-parse` handler noted."""
    # Lazy: botocore (95 ms) stays out of `import eniops`, the Lambda's init and a command that
    # calls nothing, until a client is built.
    from botocore.parsers import ResponseParserError  # noqa: PLC0415

    if not isinstance(err, ResponseParserError):
        return err
    what = f"a body that does not read ({' '.join(str(err).split())[:120]})"
    return UnreadableAnswer(endpoint, getattr(_eniops_call, "status", None), what)


class Gateway:
    """Every EC2 call of one operation, under one deadline.

    Reads are retried here (throttling, 5xx and the network with jittered backoff; a first
    read answering NotFound briefly, for EC2's eventual consistency). A change is sent once:
    whether to send it again is the executor's decision, which reads before it does.
    """

    def __init__(
        self,
        client: BaseClient,
        deadline: Deadline,
        *,
        policy: RetryPolicy,
        clock: Clock | None = None,
        stop: StopRequest | None = None,
        name: str = "",
    ) -> None:
        self.client = client
        self.deadline = deadline
        self.policy = policy
        self.stop = stop
        self.clock = clock if clock is not None else Clock(stop)
        #: The eniops operation the calls are made for (in log records).
        self.name = name

    def past_deadline(self) -> Gateway:
        """A gateway for the one read of where everything is, allowed past the deadline."""
        bound = Deadline(self.policy.final_read_s)
        return Gateway(self.client, bound, policy=self.policy, clock=self.clock, name=self.name)

    def beside(self, service: str) -> Gateway:
        """The same, on a client of another service (STS, IAM) with these credentials."""
        return self._like(sibling(self.client, service), self.deadline)

    def within(self, seconds: float) -> Gateway:
        """The same, giving up `seconds` from now at most (sooner than the operation)."""
        return self._like(self.client, Deadline(min(seconds, self.deadline.remaining())))

    def _like(self, client: Any, deadline: Deadline) -> Gateway:
        return Gateway(
            client, deadline, policy=self.policy, clock=self.clock, stop=self.stop, name=self.name
        )

    def call(self, operation: str, params: Sent, *, first_read: bool = False) -> Any:
        """A read: call EC2 `operation` with retries; raise the eniops error it stands for.

        A `first_read` answering NotFound is read again briefly (eventual consistency)."""
        attempts = itertools.count(1)
        try:
            said = _logs.retries_said(self.name, operation, params)
            retrying = _retries.reading(
                self.policy, self.deadline, self.clock, self.stop, first_read, before_sleep=said
            )
            return retrying(lambda: self._attempt(operation, params, 0.0, next(attempts)))
        except BaseException as err:
            raise self._ended(operation, err, retried=True) from err

    def send(self, operation: str, params: Sent, attempt: int = 1) -> Any:
        """A change: one call, bounded by the deadline plus the allowance of a call in flight
        (`RetryPolicy.in_flight_s`); raise the eniops error it stands for."""
        if self.deadline.expired():
            raise self.deadline.timeout_error(
                f"about to call {operation}", {"operation": operation, "sent": False}
            )
        try:
            return self._attempt(operation, params, self.policy.in_flight_s, attempt)
        except BaseException as err:
            raise self._ended(operation, err, retried=False) from err

    def resends(
        self,
        resendable: Callable[[BaseException], bool],
        operation: str,
        params: Sent,
    ) -> _retries.Turns:
        """The attempts at sending change `operation`, a decision at a time (`Turns`):
        again after an error `resendable` accepts, until the deadline or a stop."""
        said = _logs.retries_said(self.name, operation, params)
        return _retries.Turns(
            _retries.resending(
                self.policy, self.deadline, self.clock, self.stop, resendable, before_sleep=said
            )
        )

    def dry_run(self, operation: str, params: Sent) -> None:
        """Ask EC2 whether `operation` would succeed (DryRun=True), changing nothing.

        Raises `PermissionDenied` (UnauthorizedOperation), the error EC2 answered, or an
        `AwsError` if the endpoint carried the call out (it ignored DryRun).
        """
        try:
            self.call(operation, {**params, "DryRun": True})
        except EniopsError as err:
            cause = err.__cause__
            if cause is not None and error_code(cause) == _codes.DRY_RUN_OPERATION:
                return
            raise
        raise AwsError(
            f"{operation} with DryRun=True made the change",
            code=_codes.DRY_RUN_IGNORED,
            operation=operation,
        )

    def _attempt(self, operation: str, params: Sent, allowance: float, attempt: int) -> Any:
        if self.deadline.expired() and not allowance:
            raise self.deadline.timeout_error(f"reading {operation}", {"operation": operation})
        method = _method_of(self.client, operation)
        endpoint = str(self.client.meta.endpoint_url)
        limiter = _admitted(self.client, operation, self.deadline, clock=self.clock, stop=self.stop)
        started = time.monotonic()
        try:
            answer = _invoke(method, params, self.deadline.remaining() + allowance, endpoint)
        except BaseException as err:
            _logs.call_said(self.name, operation, params, attempt=attempt, started=started, got=err)
            _heard(limiter, operation, err)
            raise
        _logs.call_said(self.name, operation, params, attempt=attempt, started=started, got=answer)
        _heard(limiter, operation, None)
        return answer

    def unanswered(self, operation: str) -> EniopsError:
        """The error for a call of `operation` given up on at its bound, unanswered."""
        return self.deadline.timeout_error(
            f"waiting for EC2 to answer {operation}",
            {"operation": operation, "sent": True, "answered": False},
        )

    def _ended(self, operation: str, err: BaseException, *, retried: bool) -> BaseException:
        """What a call's last error means: a call that never answered, a deadline or a stop
        that ended a read's retries, or the eniops error EC2's answer stands for."""
        if isinstance(err, _Abandoned):
            return self.unanswered(operation)
        code = error_code(err)
        if retried and _codes.resendable(code):
            if self.stop is not None and self.stop.requested:
                return Interrupted(
                    f"stopped while calling {operation} (EC2 answered {code})",
                    signal=self.stop.signal,
                    details={"operation": operation},
                )
            by = answered_by(err, operation) or "EC2"  # STS, when a role's credentials fail
            return self.deadline.timeout_error(
                f"calling {operation} ({by} kept answering {code})",
                {"operation": operation, "last_code": code},
            )
        translated = translate(err, operation)
        return translated if translated is not None else err


def pages(gateway: Gateway, operation: str, params: Sent, key: str) -> Iterator[Any]:
    """A read of every page: the entries under `key` of each answer, the next page asked for
    by the answer's `NextToken`."""
    request = dict(params)
    while True:
        response = gateway.call(operation, request)
        yield from response.get(key) or ()
        token = response.get("NextToken")
        if not token:
            return
        request["NextToken"] = token
