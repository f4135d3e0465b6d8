"""`check_failover`: would a failover work right now, and would the service then run?

The failover's own reads (with the standby's status checks riding in the same round trip)
and its own planner, told to note each refusal instead of raising the first: every problem
is listed, found by the rules the failover itself applies, never by a copy of them. Then one
round of DryRuns of every call the plan would make, at once. Nothing is ever changed: the
run is a plan's, and every call it sends carries DryRun=True.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .._core._codes import DRY_RUN_IGNORED
from .._core._errors import (
    AwsError,
    EniopsError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
)
from .._core._json import JsonObject
from .._core._result import Problem, Readiness
from .._core._threads import at_once
from .._executor import DEPENDS, NO_DRY_RUN, Run, dry_run_calls, execute, resolve
from .._plan import Change, Plan
from .._state import _rules as check
from ._operation import CHECK, Common, start
from ._picking import FailoverState
from .failover import FailoverRequest, plan_failover, read_failover

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._core._keywords import CheckKeywords
    from .._gateway import Gateway

#: How long IAM's policy simulator (and the caller's identity) may take to answer.
SIMULATOR_PATIENCE_S = 5.0
#: Where a refusal's details name the resource it concerns, most particular first.
_RESOURCE_KEYS = (
    "resource",
    "eni",
    "address",
    "route_table",
    "instance",
    "standby",
    "ip",
    "missing",
)


def check_failover(
    from_instance: str,
    *,
    to_instance: str,
    ips: tuple[str, ...] | list[str] = (),
    **common: Unpack[CheckKeywords],
) -> Readiness:
    """Whether `failover_instance(from_instance, to_instance=…, ips=…)` would work now.

    Lists every problem, not only the first: each precondition of the failover that fails
    (its usual reason code), the standby not running (``standby-not-running``) or failing a
    status check (``standby-impaired``), each call of the failover EC2 refuses with
    DryRun=True (``permission-denied``), ``tag-guard`` for `require_tag`, and ``not-found``
    when the source carries nothing to move. It changes nothing, whatever it is given.

    Args:
        from_instance: the instance whose failover is checked.
        to_instance: its standby.
        ips: floating private IPs the failover would move (as `failover_instance`).
        **common: the keywords of a check (`eniops.CheckKeywords`): ec2, session, region,
            timeout (default 60 s), role_arn, external_id, require_tag. No `mode`.

    Raises:
        InvalidInput; AwsError (a read refused); OperationTimeout. An instance that does not
        exist is a ``not-found`` problem.
    """
    return assess(from_instance, to_instance, ips, common)


#: `check_failover`'s timeout when none is given, s.
CHECK_TIMEOUT_S = 60.0


def assess(
    from_instance: object,
    to_instance: object,
    ips: object,
    common: Mapping[str, object],
    *,
    ips_from_tag: bool = False,
) -> Readiness:
    """`check_failover` of these arguments; the Lambda's checks add the floating IPs the
    source's `eniops:floating-ips` tag names (`ips_from_tag`), as its failovers do."""
    keywords = Common.of(
        "check_failover", common, timeout_s=CHECK_TIMEOUT_S, allowed=CHECK, mode="plan"
    )
    request = FailoverRequest.of(
        from_instance=from_instance,
        to_instance=to_instance,
        ips=ips,
        guard=keywords.guard,
        ips_from_tag=ips_from_tag,
        operation="check_failover",
    )
    return _assess(start("check_failover", keywords), request)


def _assess(run: Run, request: FailoverRequest) -> Readiness:
    """Read, plan noting every refusal, try each call with DryRun=True: the readiness."""
    try:
        state = read_failover(run, request, status=True)
    except NotFound as missing:  # an instance (or its type) that does not exist
        named = [i for i in (request.source, request.target) if i in str(missing)]
        problem = Problem("not-found", ", ".join(named) or _resource(missing.details), str(missing))
        return Readiness(False, (problem,), elapsed_s=run.deadline.elapsed())
    verdicts = check.Verdicts(collect=True)
    plan = plan_failover(request, state, verdicts)
    problems = [_problem(refusal) for refusal in verdicts.refusals]
    problems.extend(_standby(state))
    if plan.empty and not verdicts.refusals:
        problems.append(
            Problem(
                "not-found",
                request.source,
                f"{request.source} carries nothing eniops would move (no Elastic IP on its "
                "primary ENI, no movable secondary ENI, no route to it, none of `ips`)",
            )
        )
    warnings = [*plan.warnings, *_unsettled(state)]
    problems.extend(_dry_runs(run, plan, warnings, _attachments(state)))
    shown = not verdicts.refusals and not plan.empty
    failover = execute(plan, dataclasses.replace(run, operation=plan.operation)) if shown else None
    return Readiness(
        ready=not problems,
        problems=tuple(problems),
        warnings=tuple(dict.fromkeys(warnings)),
        plan=failover,
        elapsed_s=run.deadline.elapsed(),
    )


def _problem(refusal: PreconditionFailed) -> Problem:
    """A refusal of the failover's rules as a problem, with the resource it concerns."""
    return Problem(refusal.reason, _resource(refusal.details), refusal.message)


def _resource(details: JsonObject) -> str:
    for key in _RESOURCE_KEYS:
        value = details.get(key)
        if isinstance(value, Mapping):
            value = value.get("allocation_id") or value.get("public_ip")
        if isinstance(value, list):
            value = ", ".join(map(str, value))
        if isinstance(value, str) and value:
            return value
    return ""


def _standby(state: FailoverState) -> list[Problem]:
    """The standby must be running and pass its status checks, or the service will not run
    where the failover moves it."""
    target, status = state.target, state.standby_status
    problems = []
    if target.state != "running":
        problems.append(
            Problem(
                "standby-not-running",
                target.instance_id,
                f"{target.instance_id} is {target.state}: a failover would move everything to "
                "an instance that serves nothing",
            )
        )
    if status is not None and status.impaired:
        problems.append(
            Problem(
                "standby-impaired",
                target.instance_id,
                f"{target.instance_id} fails its status checks (instance: "
                f"{status.instance_check}, system: {status.system_check})",
            )
        )
    return problems


def _unsettled(state: FailoverState) -> list[str]:
    """A standby whose status checks have no verdict yet is ready, but not silently."""
    status = state.standby_status
    if status is None or not status.unsettled:
        return []
    return [
        f"{state.target.instance_id}'s status checks have no verdict yet (instance: "
        f"{status.instance_check}, system: {status.system_check}): whether it will serve is "
        "not known"
    ]


def _attachments(state: FailoverState) -> dict[str, str]:
    """Each ENI's current attachment, by ENI: what a DryRun of a change that needs the
    attachment a move will make (the DeleteOnTermination restore) is sent against."""
    enis = (*state.source.enis, *state.target.enis, *state.tagged)
    return {e.eni_id: e.attachment.attachment_id for e in enis if e.attachment is not None}


def _dry_runs(
    run: Run, plan: Plan, warnings: list[str], attachments: Mapping[str, str]
) -> list[Problem]:
    """Every call of the plan EC2 can check sent with DryRun=True, at once; each refused
    (`UnauthorizedOperation`) is a problem naming the action. A refused bookkeeping tag
    beside a check is a warning: the failover succeeds without it. A call that needs the
    attachment a move will make is checked against the ENI's current one (IAM decides on the
    action and the ENI, not on which attachment)."""
    calls: dict[tuple[str, str], tuple[Change, bool]] = {}
    simulated: set[tuple[str, str]] = set()
    for planned, rider, unchecked in dry_run_calls(plan):
        change, why = _against_current(planned, unchecked, attachments)
        if why == NO_DRY_RUN:
            simulated.add((change.action, _subject_of(change)))
        elif why:
            warnings.append(f"{change.action} {why}: its permission is not checked")
        else:
            calls.setdefault((change.action, repr(sorted(change.params.items()))), (change, rider))
    (problems, notes), *answers = at_once(
        lambda: _simulated(run, sorted(simulated)),
        *(lambda c=c: _dry_run(run, c) for c, _ in calls.values()),
    )
    warnings.extend(notes)
    for (change, rider), (denied, answer) in zip(calls.values(), answers, strict=True):
        resource = _subject_of(change)
        if answer and (rider or not denied):
            warnings.append(f"{change.action} on {resource} would be refused ({answer})")
        if not denied or rider:
            continue
        problems.append(
            Problem(
                "permission-denied",
                resource,
                f"ec2:{change.action} on {resource} is refused: {answer}",
            )
        )
    return list({(p.reason, p.resource, p.message): p for p in problems}.values())


def _simulated(run: Run, unchecked: list[tuple[str, str]]) -> tuple[list[Problem], list[str]]:
    """The calls EC2 offers no DryRun for (assigning and unassigning private IPs), checked by
    IAM's policy simulator on the caller's own principal where the caller may use it (a
    denial is a problem); where it may not, each is named in the warnings."""
    if not unchecked:
        return [], []
    try:
        decisions = _simulate(run, unchecked)
    except (EniopsError, NotImplementedError) as err:  # NotImplementedError: moto lacks it
        text = err.message if isinstance(err, EniopsError) else str(err)
        decisions, unusable = {}, f"IAM's policy simulator could not be used ({text[:200]})"
    else:
        unusable = "IAM's policy simulator did not answer for it"
    problems, warnings = [], []
    for action, resource in unchecked:
        decision = decisions.get((action, resource))
        if decision is None:
            warnings.append(
                f"EC2 offers no DryRun for {action} on {resource} and {unusable}: its permission "
                "is not checked"
            )
        elif decision != "allowed":
            problems.append(
                Problem(
                    "permission-denied",
                    resource,
                    f"ec2:{action} on {resource} is refused by IAM's policy simulator ({decision})",
                )
            )
    return problems, warnings


def _simulate(run: Run, unchecked: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """IAM's decision on each (action, ENI) for the principal EC2's calls are made as."""
    # Not worth the readiness's deadline: a simulator that does not answer soon is a warning.
    sts, iam = (run.gateway.beside(s).within(SIMULATOR_PATIENCE_S) for s in ("sts", "iam"))
    identity = sts.call("GetCallerIdentity", {})
    partition, account = str(identity["Arn"]).split(":")[1], str(identity["Account"])
    region = run.gateway.client.meta.region_name

    def arn(eni: str) -> str:
        return f"arn:{partition}:ec2:{region}:{account}:network-interface/{eni}"

    found = iam.call(
        "SimulatePrincipalPolicy",
        {
            "PolicySourceArn": _principal(iam, str(identity["Arn"]), partition, account),
            "ActionNames": sorted({f"ec2:{action}" for action, _ in unchecked}),
            "ResourceArns": sorted({arn(eni) for _, eni in unchecked}),
        },
    )
    decisions: dict[tuple[str, str], str] = {}
    for result in found.get("EvaluationResults") or []:
        action = str(result.get("EvalActionName", "")).split(":", 1)[-1]
        each = {
            r.get("EvalResourceName"): r.get("EvalResourceDecision")
            for r in result.get("ResourceSpecificResults") or []
        }
        for asked, eni in unchecked:
            if asked == action:
                decisions[(asked, eni)] = str(each.get(arn(eni)) or result.get("EvalDecision"))
    return decisions


def _principal(iam: Gateway, caller: str, partition: str, account: str) -> str:
    """The IAM principal an STS caller ARN stands for: a role's ARN (read: it has a path the
    caller's ARN leaves out) or a user's; any other caller (root, federated) cannot be
    simulated."""
    kind, _, rest = caller.split(":", 5)[-1].partition("/")
    if kind == "assumed-role":
        role = iam.call("GetRole", {"RoleName": rest.split("/", 1)[0]})
        return str(role["Role"]["Arn"])
    if kind == "user":
        return f"arn:{partition}:iam::{account}:user/{rest}"
    raise InvalidInput(f"the caller {caller} is not a role or a user IAM can simulate")


def _against_current(
    change: Change, why: str, attachments: Mapping[str, str]
) -> tuple[Change, str]:
    """`change` with the attachment it depends on (`Ref`) taken as the ENI's current one,
    when it has one: then EC2 can check it with DryRun."""
    attachment = attachments.get(str(change.params.get("NetworkInterfaceId")))
    if why != DEPENDS or attachment is None:
        return change, why
    params = resolve(change.params, {"attachment_id": attachment})
    return dataclasses.replace(change, params=params), ""


def _dry_run(run: Run, change: Change) -> tuple[bool, str]:
    """Whether IAM refuses the call, and what EC2 answered ("" when it would take it)."""
    try:
        run.gateway.dry_run(change.action, change.params)
    except PermissionDenied as refused:
        return True, refused.code or "UnauthorizedOperation"
    except AwsError as answered:
        if answered.code == DRY_RUN_IGNORED:
            raise  # the endpoint carried a change out: never go on
        return False, f"{answered.code}: {answered}"
    return False, ""


def _subject_of(change: Change) -> str:
    params = change.params
    for key in ("AllocationId", "RouteTableId", "NetworkInterfaceId", "AttachmentId"):
        value = params.get(key)
        if isinstance(value, str):
            return value
    resources = params.get("Resources")
    return str(resources[0]) if isinstance(resources, list) and resources else ""
