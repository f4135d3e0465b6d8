"""`StrictEc2`: botocore event handlers that make a moto-backed client meet EC2's rules."""

from __future__ import annotations

import copy
import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

from . import _errors as errors
from ._answers import ANSWERS
from ._effects import EFFECTS
from ._faults import Fault, FaultBook, Hold, Holdable
from ._iam import PolicySimulator
from ._lab import require_moto, still_moto
from ._patches import PATCHES
from ._recorder import MUTATING_OPERATIONS, Call, answer, send
from ._rules import RULES, Simulation
from ._view import AccountView

#: Which calls a fault applies to (their parameters satisfy it); None: every call.
When = Callable[[Mapping[str, Any]], bool] | None

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client


class _Recording:
    """Every call the code under test makes, recorded; calls of the test's own not."""

    calls: list[Call]
    client: Any
    _book: FaultBook
    _local: threading.local

    def count(self, operation: str | None = None, *, include_dry_run: bool = True) -> int:
        """How many calls of `operation` (or of all operations) were made."""
        return sum(
            1
            for call in self.calls
            if (operation is None or call.operation == operation)
            and (include_dry_run or not call.dry_run)
        )

    @property
    def mutations(self) -> list[Call]:
        """The mutating calls made, DryRun included."""
        return [c for c in self.calls if c.operation in MUTATING_OPERATIONS]

    def operations(self) -> list[str]:
        """The names of the calls made, in order."""
        return [c.operation for c in self.calls]

    def reset_calls(self) -> None:
        """Forget the recorded calls (e.g. after setting up a scenario)."""
        with self._book.lock:
            self.calls.clear()

    def internal(self) -> AbstractContextManager[EC2Client]:
        """Calls made in this block are neither recorded nor checked (scenario set-up)."""
        return self._marked("internal")

    def bystander(self) -> AbstractContextManager[EC2Client]:
        """Calls made in this block are someone else's: EC2's rules and effects apply (an
        address associated elsewhere displaces the one there), but they are neither
        recorded nor answered with the faults queued for the code under test."""
        return self._marked("bystander")

    @contextmanager
    def _marked(self, mark: str) -> Iterator[EC2Client]:
        """This thread's calls carry `mark` within the block (blocks nest)."""
        previous = getattr(self._local, mark, False)
        setattr(self._local, mark, True)
        try:
            yield self.client
        finally:
            setattr(self._local, mark, previous)

    def _is_internal(self) -> bool:
        return bool(getattr(self._local, "internal", False))

    def _is_bystander(self) -> bool:
        return bool(getattr(self._local, "bystander", False))


class _Faulting:
    """Faults and held transitions the test asks for."""

    _book: FaultBook

    def inject(
        self,
        operation: str,
        code: str,
        *,
        times: int = 1,
        message: str = "injected by StrictEc2",
        after_success: bool = False,
        when: When = None,
    ) -> None:
        """Answer the next `times` calls of `operation` (those whose parameters satisfy
        `when`, if given) with error `code`.

        By default nothing reaches moto (the call had no effect). With `after_success`, moto
        carries the call out and the answer is replaced by the error: a lost answer, as when a
        retried call had in fact succeeded.
        """
        self._book.add(operation, Fault(errors.error(code, message), times, after_success, when))

    def late(self, operation: str, seconds: float, *, times: int = 1, when: When = None) -> None:
        """Answer the next `times` calls of `operation` `seconds` late (carried out at once)."""
        self._book.add(operation, Fault(None, times, True, when, late_s=seconds))

    def slow(self, operation: str, seconds: float, *, times: int = 1, when: When = None) -> None:
        """Hold the next `times` calls of `operation` `seconds` before they reach EC2."""
        self._book.add(operation, Fault(None, times, False, when, slow_s=seconds))

    def hold(self, operation: Holdable, *, polls: int = 0, seconds: float = 0.0) -> None:
        """Keep the effect of `operation` in transition for `polls` describes or `seconds`.

        Detach shows the ENI `detaching` (still on its instance); attach shows `attaching`;
        assign and unassign leave the ENI's IP list unchanged; associate shows the address
        where it was. Whichever lasts longer of `polls` and `seconds` applies.
        """
        self._book.hold(operation, Hold(polls, seconds))

    def clear_faults(self) -> None:
        """Forget the faults and holds not used yet (transitions already running go on)."""
        self._book.clear()


class _Applying:
    """One call at a time inside moto: a lock between this process's threads and, for a moto
    server that several processes share, a file lock between the processes."""

    def __init__(self, endpoint: str | None) -> None:
        self._threads = threading.Lock()
        self._path: str | None = None
        if endpoint is not None:
            digest = hashlib.sha256(endpoint.encode()).hexdigest()[:16]
            self._path = os.path.join(tempfile.gettempdir(), f"eniops-strict-{digest}.lock")
        self._file: Any = None

    def acquire(self) -> None:
        self._threads.acquire()
        if self._path is not None:
            import fcntl  # noqa: PLC0415  (POSIX: the test machines)

            self._file = open(self._path, "a")  # noqa: SIM115  (held until release)
            fcntl.flock(self._file, fcntl.LOCK_EX)

    def release(self) -> None:
        if self._file is not None:
            import fcntl  # noqa: PLC0415

            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        self._threads.release()


class StrictEc2(_Faulting, _Recording):
    """botocore event handlers on a moto-backed EC2 client that enforce EC2's rules.

    Refused as EC2 refuses them (moto accepts them): an attach across zones or VPCs, to a
    taken device index, of an ENI in use, past the type's limit, to an instance neither
    running nor stopped; a detach of the primary interface; secondary IPs outside the
    subnet, reserved, or another ENI's (unless reassigned, which moves the IP and its Elastic
    IP), past the per-interface limit; `AssociateAddress` by `InstanceId` on a multi-ENI
    instance or to a private IP the ENI lacks; `CreateRoute` for a routed destination,
    `ReplaceRoute` for an unrouted one; tag keys starting `aws:`. Played as EC2 plays them:
    `DryRun` answered with `DryRunOperation` and nothing done; the Elastic IP displaced from a
    target private IP; `PrivateIpAddress` and `DeleteOnTermination` honoured; termination
    teardown; IAM's policy simulator (`iam`) on the clients eniops builds beside this one.
    Faults and held transitions on request; every call recorded. Refuses a client not backed
    by moto (`NotMoto`): it must never guard a real account.
    """

    def __init__(self, client: EC2Client, *, latency_s: float = 0.0) -> None:
        in_process = self._in_process = require_moto(client)
        self.client: Any = client
        #: Every call's round trip (`_recorder.send`, `answer`); calls in flight overlap.
        self.latency_s = latency_s
        self.calls: list[Call] = []
        self._book = FaultBook()
        self._local = threading.local()
        #: EC2 carries out each change atomically; here a rule's check, moto's change and its
        #: effects are three steps, so calls go through them one at a time (across every
        #: process guarding the same moto server too). Reads too: moto's tag store is not safe
        #: to read while another thread writes it.
        self._applying = _Applying(None if in_process else client.meta.endpoint_url)
        self.sim = Simulation(AccountView(client, in_process=in_process), self._book)
        self.iam = PolicySimulator(client)
        events = client.meta.events
        events.register("before-parameter-build.ec2", self._remember_params)
        events.register("before-call.ec2", self._before_call)
        events.register("after-call.ec2", self._after_call)
        events.register("after-call-error.ec2", self._after_call_error)

    # -- botocore handlers --------------------------------------------------------------

    def _remember_params(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["strict_params"] = copy.deepcopy(params)

    def _before_call(self, model: Any, context: dict[str, Any], **_: Any) -> Any:
        if self._in_process:  # mock_aws may have ended since: never let a call leave
            still_moto(str(self.client.meta.endpoint_url), checked=True)
        if self._is_internal():
            return None
        operation = model.name
        params = context.get("strict_params", {})
        if not self._is_bystander():
            call = Call(operation, params, time.monotonic())
            with self._book.lock:
                self.calls.append(call)
            context["strict_call"] = call
        context["strict_due"] = send(self.latency_s)
        fault = None if self._is_bystander() else self._book.take(operation, params)
        if fault is not None:
            if fault.slow_s:
                time.sleep(fault.slow_s)
            elif not fault.after_success and fault.error is not None:
                return fault.error.answer()
            else:
                context["strict_late"] = fault
        if params.get("DryRun") and operation in MUTATING_OPERATIONS:
            # EC2 answers a permitted DryRun with DryRunOperation and changes nothing; moto
            # carries some of them out (CreateRoute, ReplaceRoute).
            return errors.dry_run_passed().answer()
        rule, answer = RULES.get(operation), ANSWERS.get(operation)
        self._applying.acquire()
        context["strict_applying"] = True
        try:
            with self.internal():
                refused = rule(self.sim, params, context) if rule is not None else None
                given = answer(self.sim, params) if answer is not None and refused is None else None
        except BaseException:
            self._applied(context)
            raise
        if refused is not None:
            return refused.answer()
        return (errors.ok(), given) if given is not None else None

    def _applied(self, context: dict[str, Any]) -> None:
        if context.pop("strict_applying", False):
            self._applying.release()

    def _after_call_error(self, context: dict[str, Any], **_: Any) -> None:
        self._applied(context)

    def _after_call(
        self,
        http_response: Any,
        parsed: dict[str, Any],
        model: Any,
        context: dict[str, Any],
        **_: Any,
    ) -> None:
        call = context.get("strict_call")
        failed = getattr(http_response, "status_code", 500) >= 300
        if not (self._is_internal() or failed):
            params = context.get("strict_params", {})
            effect, patch = EFFECTS.get(model.name), PATCHES.get(model.name)
            with self.internal():
                if effect is not None:
                    effect(self.sim, params, context)
                if patch is not None:
                    patch(self.sim, params, parsed)
        self._applied(context)
        answer(context.pop("strict_due", None))
        if call is not None:
            call.ended = time.monotonic()
            call.error = (parsed.get("Error") or {}).get("Code")
        late = None if self._is_internal() or failed else context.get("strict_late")
        if late is not None:
            if late.late_s:
                time.sleep(late.late_s)
            if late.error is not None:
                http_response.status_code = late.error.status
                parsed.clear()
                parsed.update(late.error.answer()[1])
                if call is not None:
                    call.error = late.error.code
