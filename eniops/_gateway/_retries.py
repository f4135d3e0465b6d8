"""Retries composed from tenacity's own parts: what is retried, full-jitter backoff by cause,
and the stops (the deadline, a stop request)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._core import _codes
from .._core._deadline import Deadline
from .._core._log import logger
from .._core._settings import Clock, RetryPolicy, StopRequest
from ._clients import UnreadableAnswer
from ._translate import _error_parts, _is_client_error, error_code, transient

#: Attempts at a read answered with an HTML page and a 5xx status (a proxy or an endpoint
#: in trouble) before it is an error that names them.
UNREADABLE_ATTEMPTS = 3

if TYPE_CHECKING:
    from tenacity import RetryCallState


def _by_cause(policy: RetryPolicy) -> Any:
    """Full-jitter exponential backoff, shorter after an eventual-consistency NotFound."""
    # Lazy: tenacity (10 ms) loads with the first call: never for `import eniops`, the Lambda's init
    # or --help.
    from tenacity import wait_random_exponential  # noqa: PLC0415
    from tenacity.wait import wait_base  # noqa: PLC0415

    not_found = wait_random_exponential(
        multiplier=policy.not_found_first_s, max=policy.not_found_cap_s
    )
    other = wait_random_exponential(multiplier=policy.backoff_first_s, max=policy.backoff_cap_s)

    class _ByCause(wait_base):
        def __call__(self, retry_state: RetryCallState) -> float:
            outcome = retry_state.outcome
            err = outcome.exception() if outcome is not None else None
            chosen = (
                not_found
                if err is not None and error_code(err) in _codes.NOT_FOUND_CODES
                else other
            )
            return float(chosen(retry_state))

    return _ByCause()


def stops(deadline: Deadline, stop: StopRequest | None) -> Any:
    """No retry whose backoff would end past the deadline, none after a stop request."""
    # Lazy: tenacity (10 ms) loads with the first call: never for `import eniops`, the Lambda's init
    # or --help.
    from tenacity import stop_any, stop_before_delay, stop_when_event_set  # noqa: PLC0415

    parts: list[Any] = [stop_before_delay(deadline.remaining())]
    if stop is not None:
        parts.append(stop_when_event_set(stop.event))
    return stop_any(*parts)


def retry_said(words: str, name: str) -> Callable[[RetryCallState], None]:
    """tenacity's `before_sleep`: each retry at INFO, with what was answered and the wait."""

    log = logger("eniops.gateway")

    def said(state: RetryCallState) -> None:
        outcome, action = state.outcome, state.next_action
        err = outcome.exception() if outcome is not None else None
        code = error_code(err) if err is not None else "?"
        wait = action.sleep if action is not None else 0.0
        log.info(
            "%s: %s; trying again in %.2f s (attempt %d)",
            words,
            code,
            wait,
            state.attempt_number + 1,
            extra={
                "fields": {
                    "operation": name,
                    "action": words.split(" ", 1)[0],
                    "code": code,
                    "wait_s": round(wait, 3),
                    "attempt": state.attempt_number + 1,
                }
            },
        )

    return said


def reading(
    policy: RetryPolicy,
    deadline: Deadline,
    clock: Clock,
    stop: StopRequest | None,
    first_read: bool,
    *,
    before_sleep: Callable[[RetryCallState], None] | None = None,
) -> Any:
    """How a read is retried: throttling, 5xx and the network; a `first_read` answering
    NotFound, briefly (EC2's eventual consistency)."""
    # Lazy: tenacity (10 ms) loads with the first call: never for `import eniops`, the Lambda's init
    # or --help.
    from tenacity import Retrying, retry_if_exception  # noqa: PLC0415

    started = clock.now()
    unreadable: list[BaseException] = []

    def retryable(err: BaseException) -> bool:
        if isinstance(err, transient()):
            return True
        if isinstance(err, UnreadableAnswer):  # a 5xx page from a proxy: a few more tries
            unreadable.append(err)
            return (err.status or 0) >= 500 and len(unreadable) < UNREADABLE_ATTEMPTS
        if not _is_client_error(err):
            return False
        code, _, _, status = _error_parts(err)
        rule = _codes.rule_for(code, status)
        return rule.translation == "retry" or (
            first_read
            and rule.translation == "not-found"
            and clock.now() - started < policy.not_found_window_s
        )

    return Retrying(
        retry=retry_if_exception(retryable),
        wait=_by_cause(policy),
        stop=stops(deadline, stop),
        sleep=clock.sleep,
        reraise=True,
        before_sleep=before_sleep,
    )


def resending(
    policy: RetryPolicy,
    deadline: Deadline,
    clock: Clock,
    stop: StopRequest | None,
    resendable: Callable[[BaseException], bool],
    *,
    before_sleep: Callable[[RetryCallState], None] | None = None,
) -> Any:
    """How a change is sent again: after an error `resendable` accepts, full-jitter backoff."""
    # Lazy: tenacity (10 ms) loads with the first call: never for `import eniops`, the Lambda's init
    # or --help.
    from tenacity import Retrying, retry_if_exception, wait_random_exponential  # noqa: PLC0415

    return Retrying(
        retry=retry_if_exception(resendable),
        wait=wait_random_exponential(multiplier=policy.backoff_first_s, max=policy.backoff_cap_s),
        stop=stops(deadline, stop),
        sleep=clock.sleep,
        reraise=True,
        before_sleep=before_sleep,
    )


class Turns:
    """tenacity's decisions one at a time, for a caller that sleeps on its own (the
    executor's loop), as tenacity's own `AsyncRetrying` drives its `iter`.

    `next()` answers ``("attempt", 0.0)``: make one now and say how it ended (`failed` or
    `succeeded`); ``("sleep", seconds)``: pause, then ask again; ``("done", 0.0)``: the last
    attempt succeeded. When tenacity gives up, `next()` raises the last error as is.
    """

    def __init__(self, retrying: Any) -> None:
        # Lazy: tenacity (10 ms) loads with the first call: never for `import eniops`, the Lambda's
        # init or --help.
        from tenacity import RetryCallState  # noqa: PLC0415

        self.retrying = retrying
        retrying.begin()
        self.state = RetryCallState(retrying, fn=None, args=(), kwargs={})

    @property
    def attempt_number(self) -> int:
        """The attempt made last (or being made)."""
        return int(self.state.attempt_number)

    def next(self) -> tuple[str, float]:
        """What to do next (see the class)."""
        # Lazy: tenacity (10 ms) loads with the first call: never for `import eniops`, the Lambda's
        # init or --help.
        from tenacity import DoAttempt, DoSleep  # noqa: PLC0415

        do = self.retrying.iter(retry_state=self.state)
        if isinstance(do, DoAttempt):
            return "attempt", 0.0
        if isinstance(do, DoSleep):
            self.state.prepare_for_next_attempt()
            return "sleep", float(do)
        return "done", 0.0

    def failed(self, err: BaseException) -> None:
        """The attempt raised `err`."""
        self.state.set_exception((type(err), err, err.__traceback__))

    def succeeded(self) -> None:
        """The attempt succeeded."""
        self.state.set_result(None)
