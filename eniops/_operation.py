"""What every operation shares: argument handling, modes, steps and the `Result`.

An operation reads, checks, plans, acts and verifies. `Context.act` is where the mode is
honoured: `plan` records the step and calls nothing, `dry-run` sends the call with
`DryRun=True`, `apply` makes it.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import _inputs
from ._deadline import Deadline
from ._errors import EniopsError, InvalidInput
from ._gateway import DEFAULT_POLICY, Gateway, RetryPolicy, build_client
from ._inputs import TagGuard
from ._result import Mode, Result, Step

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_ec2 import EC2Client

log = logging.getLogger("eniops")

#: Called with (what is being waited for, seconds elapsed) during polls; the CLI shows progress.
progress_callback: contextvars.ContextVar[Callable[[str, float], None] | None] = (
    contextvars.ContextVar("eniops_progress", default=None)
)
#: The retry and polling policy operations use; `eniops.testing` may shrink it.
retry_policy: contextvars.ContextVar[RetryPolicy] = contextvars.ContextVar(
    "eniops_retry_policy", default=DEFAULT_POLICY
)


@dataclass
class Context:
    """One operation in progress."""

    operation: str
    mode: Mode
    gateway: Gateway
    guard: TagGuard | None
    steps: list[Step] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def deadline(self) -> Deadline:
        """The operation's one deadline."""
        return self.gateway.deadline

    def act(
        self,
        operation: str,
        params: Mapping[str, Any],
        *,
        dry_run_supported: bool = True,
        settled: Callable[[], bool] | None = None,
        note: str = "",
    ) -> dict[str, Any] | None:
        """Make (or plan, or dry-run) one mutating call and record it as a step."""
        action = f"ec2:{operation}"
        if self.mode == "plan":
            self.steps.append(Step(action, dict(params), "planned", note))
            return None
        if self.mode == "dry-run":
            if not dry_run_supported:
                self.warnings.append(
                    f"EC2 offers no DryRun for {operation}: planned only, not checked by EC2"
                )
                self.steps.append(Step(action, dict(params), "planned", "no DryRun in EC2"))
                return None
            self.gateway.mutate(operation, params, dry_run=True)
            self.steps.append(Step(action, dict(params), "planned", "DryRun passed"))
            return None
        try:
            response = self.gateway.mutate(operation, params, settled=settled)
        except EniopsError:
            self.steps.append(Step(action, dict(params), "failed", note))
            raise
        if response == {}:
            note = (
                note + "; " if note else ""
            ) + "EC2 answered with an error but the change is in place"
            self.warnings.append(f"{operation}: {note}")
        self.steps.append(Step(action, dict(params), "done", note))
        log.info("%s %s done", self.operation, operation)
        return response

    def mark(self, index: int, status: str, note: str = "") -> None:
        """Change the status of an earlier step (e.g. to `rolled-back`)."""
        step = self.steps[index]
        self.steps[index] = Step(step.action, step.params, status, note or step.note)  # type: ignore[arg-type]

    def result(
        self,
        *,
        changed: bool,
        before: Mapping[str, Any],
        after: Mapping[str, Any],
        children: tuple[Result, ...] = (),
    ) -> Result:
        """The operation's `Result`."""
        return Result(
            operation=self.operation,
            mode=self.mode,
            changed=changed and self.mode == "apply",
            steps=tuple(self.steps),
            before=dict(before),
            after=dict(after),
            warnings=tuple(self.warnings),
            elapsed_s=self.deadline.elapsed(),
            children=children,
        )


def open_context(
    operation: str,
    *,
    mode: object,
    ec2: EC2Client | None,
    session: boto3.session.Session | None,
    region: str | None,
    timeout: object,
    require_tag: object,
) -> Context:
    """Parse the common keywords (raising `InvalidInput` before any AWS call) and start."""
    parsed_mode = _inputs.mode(mode)
    timeout_s = _inputs.timeout(timeout)
    guard = _inputs.tag_guard(require_tag)
    if region is not None and (not isinstance(region, str) or not region):
        raise InvalidInput(f"region: {region!r} is not a region name")
    deadline = Deadline(timeout_s)
    client = build_client(ec2=ec2, session=session, region=region, timeout_s=timeout_s)
    gateway = Gateway(client, deadline, policy=retry_policy.get(), on_wait=progress_callback.get())
    return Context(operation=operation, mode=parsed_mode, gateway=gateway, guard=guard)
