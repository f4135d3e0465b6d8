"""Sending one change: never after the deadline or a stop; sent again while EC2 did not
carry it out; settled by a read when the answer leaves that open.

A change is sent once; EC2's answer decides what follows. Refused for its rate (not carried
out), it is sent again after a jittered backoff, its guard read again first if that read is
stale. An answer that leaves open whether it was carried out (5xx, the network, a lost
answer) is followed by a read of the resource: in place, it is done; otherwise it is sent
again. After a final error the real state is read before anything is decided.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .._core import _codes
from .._core._errors import AwsError, Conflict, EniopsError, Interrupted, PermissionDenied
from .._core._json import Json, JsonDict, JsonObject
from .._plan import Change, Param, Params, Ref
from .._plan._expect import Fact
from .._state._views import State, Subject
from ._loop import Steps, call, sleep

if TYPE_CHECKING:
    from .._state._reads import Reader
    from ._run import Run

#: A guard read older than this is read again before a throttled change is sent again.
GUARD_FRESH_S = 0.5


class _InPlace(Exception):
    """A read before a change is sent again shows it in place: it is not sent again."""

    def __init__(self, error: EniopsError) -> None:
        super().__init__(error.message)
        self.error = error


def resolve(params: Params, facts: Mapping[str, Fact]) -> JsonDict:
    """Parameters with each `Ref` replaced by the fact an earlier change established."""
    return {name: _each_ref(value, lambda ref: facts[ref.fact]) for name, value in params.items()}


def shown(params: Params) -> JsonDict:
    """Parameters as results show them: a `Ref` as its description."""
    return {name: _each_ref(value, str) for name, value in params.items()}


def has_ref(params: Params) -> bool:
    """True when a parameter depends on an earlier change."""

    def depends(value: Param) -> bool:
        if isinstance(value, Ref):
            return True
        if isinstance(value, Mapping):
            return any(map(depends, value.values()))
        return isinstance(value, (list, tuple)) and any(map(depends, value))

    return any(map(depends, params.values()))


def _each_ref(value: Param, as_json: Callable[[Ref], Json]) -> Json:
    """`value` as plain data, each `Ref` in it given by `as_json`."""
    if isinstance(value, Ref):
        return as_json(value)
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, Mapping):
        return {k: _each_ref(v, as_json) for k, v in value.items()}
    return [_each_ref(v, as_json) for v in value]


def _resendable(error: BaseException) -> bool:
    """Refused for its rate, or answered so that it may not have been carried out."""
    if not isinstance(error, AwsError) or isinstance(error, PermissionDenied):
        return False
    return _codes.resendable(error.code)


def _sent_again(change: Change, error: BaseException) -> bool:
    """Resendable, or answered as EC2 answers while an earlier change settles."""
    pending = isinstance(error, EniopsError) and _code(error) in change.pending
    return pending or _resendable(error)


def _throttled(error: BaseException) -> bool:
    return isinstance(error, AwsError) and error.code in _codes.THROTTLING_CODES


@dataclass
class Memory:
    """What one chain has learnt: facts from its checks (a new attachment's id), the last
    state read of each resource, and its warnings."""

    facts: dict[str, Fact] = field(default_factory=dict)
    last: dict[Subject, State | None] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class Sender:
    """Sends the changes of one chain (see the module)."""

    def __init__(self, run: Run, memory: Memory) -> None:
        self.run = run
        self.memory = memory

    def send(self, change: Change) -> Steps[tuple[JsonObject, str]]:
        """Send `change`; return the parameters sent and the note for its step. Raises the
        error that ended it, unless a read shows it in place after all (a warning says so)."""
        params = resolve(change.params, self.memory.facts)
        note = change.note
        self._refuse_if_stopped(change)  # never sent: nothing to settle
        try:
            yield from self._with_resends(change, params)
        except _InPlace as in_place:
            note = _join(note, f"EC2 answered {_code(in_place.error)} but the change is in place")
            self.memory.warnings.append(f"{change.action}: {note}")
        except EniopsError as err:
            try:
                now_in_place = yield from settled(self.run, self.memory, change, err)
            except Conflict as moved:  # the read after the error shows who holds it now
                raise moved.copy({**moved.details, "answered": _code(err)}) from err
            if not now_in_place:
                raise
            note = _join(note, f"EC2 answered {_code(err)} but the change is in place")
            self.memory.warnings.append(f"{change.action}: {note}")
        return params, note

    def _with_resends(self, change: Change, params: JsonObject) -> Steps[None]:
        """Sent, and sent again while tenacity says so; the loop sleeps in between."""
        run = self.run
        turns = run.gateway.resends(lambda e: _sent_again(change, e), change.action, params)
        read_at = run.read_at
        error: EniopsError | None = None
        try:
            while True:
                what, seconds = turns.next()
                if what == "done":
                    return
                if what == "sleep":
                    yield from sleep(seconds)
                    continue
                try:
                    if error is not None:
                        read_at = yield from self._before_resend(change, error, read_at)
                        self._refuse_if_stopped(change)
                    yield from self._send_once(change, params, turns.attempt_number)
                except GeneratorExit:
                    raise
                except BaseException as err:  # tenacity decides whether it is sent again
                    if isinstance(err, EniopsError):
                        error = err
                    turns.failed(err)
                else:
                    turns.succeeded()
        except EniopsError as err:
            ended = _ended(run, change, err)
            raise ended.copy({**ended.details, "attempts": turns.attempt_number}) from err

    def _send_once(self, change: Change, params: JsonObject, attempt: int) -> Steps[None]:
        gateway = self.run.gateway
        yield from call(
            lambda: gateway.send(change.action, params, attempt),
            gateway.deadline.remaining() + self.run.settings.policy.in_flight_s,
            lambda: gateway.unanswered(change.action),
            counted=change.role != "bookkeeping",
        )

    def _refuse_if_stopped(self, change: Change) -> None:
        run = self.run
        if run.stop_requested:
            raise run.interrupted(f"about to call {change.action}")
        if run.deadline.expired():
            raise run.deadline.timeout_error(
                f"about to call {change.action}: no change starts after the deadline",
                {"operation": change.action, "sent": False},
            )

    def _before_resend(self, change: Change, error: EniopsError, read_at: float) -> Steps[float]:
        """The read before a change is sent again; returns when its guard was last read.

        After an answer that leaves open whether the change was carried out, read the
        resource: in place means done (`_InPlace`). After throttling (refused for its
        rate, so not carried out) only a guard is read again, and only when its read is
        older than `GUARD_FRESH_S`: the read stays close to the write.
        """
        clock = self.run.clock
        throttled = _throttled(error)
        if throttled and (change.guard is None or clock.now() - read_at < GUARD_FRESH_S):
            return read_at
        checks = [*([] if throttled else change.expect), *filter(None, [change.guard])]
        for expect in checks:
            state = yield from read(self.run.reader, expect.subject)
            self.memory.last[expect.subject] = state
            seen = expect.observe(state)  # a Conflict stops here
            if expect is not change.guard and seen.progress != "absent":
                self.memory.facts.update(seen.facts)
                raise _InPlace(error)
        return clock.now()


def read(reader: Reader, subject: Subject) -> Steps[State | None]:
    """The present state of one resource, read on the pool within the reader's deadline."""
    kind, resource = subject
    gateway = reader.gateway
    found = yield from call(
        lambda: reader.current(kind, [resource]),
        gateway.deadline.remaining(),
        lambda: gateway.unanswered(f"a read of {resource}"),
    )
    return found.get(resource)


def _ended(run: Run, change: Change, err: EniopsError) -> EniopsError:
    """What a change's last error means once it is not sent again."""
    if not _resendable(err):
        return err
    if run.stop_requested:
        return Interrupted(
            f"stopped before {change.action} was sent again",
            signal=run.settings.stop.signal if run.settings.stop else None,
            details={"operation": change.action},
        )
    code = _code(err)
    return run.deadline.timeout_error(
        f"calling {change.action} (EC2 kept answering {code})",
        {"operation": change.action, "last_code": code, "sent": True},
    )


def settled(run: Run, memory: Memory, change: Change, err: EniopsError) -> Steps[bool]:
    """After an error: is the change in place after all? Read before deciding."""
    if not change.expect or isinstance(err, (PermissionDenied, Interrupted)):
        return False
    policy = run.settings.policy
    attempts = err.details.get("attempts", 1)
    clear = _codes.is_refusal(err) and isinstance(attempts, int) and attempts <= 1
    reads = 1 if clear else policy.settle_reads
    reader = run.final_reader()
    for attempt in range(reads):
        if attempt:
            yield from sleep(policy.settle_pause_s)
        try:
            found = []
            for expect in change.expect:
                found.append((expect, (yield from read(reader, expect.subject))))
        except EniopsError:
            return False
        seen = []
        for expect, state in found:
            memory.last[expect.subject] = state
            seen.append(expect.observe(state))  # a Conflict here says who holds it now
        if all(s.progress != "absent" for s in seen):
            for one in seen:
                memory.facts.update(one.facts)
            return True
    return False


def _code(err: EniopsError) -> str:
    return str(getattr(err, "code", None) or err.details.get("code") or type(err).__name__)


def _join(first: str, second: str) -> str:
    return f"{first}; {second}" if first else second
