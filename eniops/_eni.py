"""`move_eni`, `attach_eni`, `detach_eni`: move interfaces without stranding them.

Reads (at most three calls before the first change): the ENI; the source and target
instances in one call; the target type's limits (cached per process). Detach is by
`AttachmentId`, so a stale attachment cannot be detached by mistake. Waits poll with a
short first delay inside the operation's deadline. If the attach fails after the detach,
the ENI goes back where it was, or the error says exactly where it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _inputs
from . import _rules as check
from ._errors import Conflict, EniopsError, InvalidInput, PartialFailure
from ._model import Attachment, Eni, Instance
from ._operation import Context, open_context
from ._result import Mode, Result, Step

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_ec2 import EC2Client

HOT_ATTACH_WARNING = (
    "after a hot or warm attach, operating systems other than Amazon Linux and Windows may "
    "need the interface, its address and routes configured by hand"
)
BANDWIDTH_WARNING = "a second network interface adds no bandwidth to the instance"
FORCE_WARNING = (
    "forced detach: the device index may stay unusable and instance metadata stale on "
    "the source instance until it is stopped and started"
)


def attach_eni(
    eni: str,
    *,
    instance: str,
    device_index: int | None = None,
    allow_same_subnet: bool = False,
    mode: Mode = "apply",
    ec2: EC2Client | None = None,
    session: boto3.session.Session | None = None,
    region: str | None = None,
    timeout: float = 300.0,
    require_tag: str | None = None,
) -> Result:
    """Attach an available ENI to `instance` and wait until it is attached.

    `device_index=None` picks the lowest free index on network card 0.

    Raises:
        InvalidInput; NotFound; Conflict(``in-use``) when attached elsewhere;
        PreconditionFailed (``requester-managed``, ``vpc-mismatch``, ``az-mismatch``,
        ``instance-state``, ``attachment-limit``, ``device-index-in-use``, ``same-subnet``,
        ``tag-guard``); AwsError; OperationTimeout.
    """
    eni_id = _inputs.eni_id(eni)
    target_id = _inputs.instance_id(instance, "instance")
    index = _inputs.device_index(device_index)
    ctx = open_context(
        "attach_eni",
        mode=mode,
        ec2=ec2,
        session=session,
        region=region,
        timeout=timeout,
        require_tag=require_tag,
    )
    gw = ctx.gateway
    current = gw.eni(eni_id)
    check.not_requester_managed(current)
    before = {"eni": current.summary()}
    if current.instance_id == target_id:
        return ctx.result(changed=False, before=before, after=before)
    check.free_for(current, target_id)
    target = gw.instance(target_id)
    chosen = _check_target(ctx, current, target, index, allow_same_subnet)
    check.tag_guard(ctx.guard, current.eni_id, current.tags)
    check.tag_guard(ctx.guard, target.instance_id, target.tags)
    ctx.warnings.extend((HOT_ATTACH_WARNING, BANDWIDTH_WARNING))
    attachment = _attach(ctx, current.eni_id, target.instance_id, chosen)
    if ctx.mode != "apply":
        return ctx.result(
            changed=False,
            before=before,
            after={"eni": {**current.summary(), "instance": target_id, "device_index": chosen}},
        )
    final = _wait_attached(ctx, current.eni_id, target.instance_id, attachment)
    return ctx.result(changed=True, before=before, after={"eni": final.summary()})


def detach_eni(
    eni: str,
    *,
    expect_current: str | None = None,
    force: bool = False,
    mode: Mode = "apply",
    ec2: EC2Client | None = None,
    session: boto3.session.Session | None = None,
    region: str | None = None,
    timeout: float = 300.0,
    require_tag: str | None = None,
) -> Result:
    """Detach a secondary ENI (by its `AttachmentId`) and wait until it is available.

    Raises:
        InvalidInput; NotFound; Conflict(``expect-mismatch``); PreconditionFailed
        (``primary-eni``, ``requester-managed``, ``tag-guard``); AwsError; OperationTimeout.
    """
    eni_id = _inputs.eni_id(eni)
    expected = _inputs.expect_current(expect_current)
    _flag(force, "force")
    ctx = open_context(
        "detach_eni",
        mode=mode,
        ec2=ec2,
        session=session,
        region=region,
        timeout=timeout,
        require_tag=require_tag,
    )
    gw = ctx.gateway
    current = gw.eni(eni_id)
    before = {"eni": current.summary()}
    check.expect_current(expected, eni_id, [current.instance_id])
    if current.attachment is None:
        return ctx.result(changed=False, before=before, after=before)
    check.not_requester_managed(current)
    check.not_primary(current)
    check.tag_guard(ctx.guard, current.eni_id, current.tags)
    if force:
        ctx.warnings.append(FORCE_WARNING)
    _detach(ctx, current, current.attachment, force)
    if ctx.mode != "apply":
        return ctx.result(changed=False, before=before, after={"eni": _detached(current)})
    final = _wait_available(ctx, current, current.attachment)
    return ctx.result(changed=True, before=before, after={"eni": final.summary()})


def move_eni(
    eni: str,
    *,
    to_instance: str,
    device_index: int | None = None,
    expect_current: str | None = None,
    force_detach: bool = False,
    allow_same_subnet: bool = False,
    rollback: bool = True,
    mode: Mode = "apply",
    ec2: EC2Client | None = None,
    session: boto3.session.Session | None = None,
    region: str | None = None,
    timeout: float = 300.0,
    require_tag: str | None = None,
) -> Result:
    """Move an ENI (with its MAC, IPs, security groups and Elastic IPs) to `to_instance`.

    Detach by `AttachmentId`, wait until available, attach, wait until attached, then
    restore `DeleteOnTermination` if the source attachment had it. If the attach fails, the
    ENI is re-attached to the source at its old device index (unless `rollback=False`).

    Raises:
        InvalidInput; NotFound; Conflict (``expect-mismatch``); PreconditionFailed
        (``primary-eni``, ``requester-managed``, ``vpc-mismatch``, ``az-mismatch``,
        ``instance-state``, ``attachment-limit``, ``device-index-in-use``, ``same-subnet``,
        ``tag-guard``); AwsError; OperationTimeout (details say where the ENI is);
        PartialFailure (``rolled_back`` says whether the ENI went back to the source).
    """
    eni_id = _inputs.eni_id(eni)
    target_id = _inputs.instance_id(to_instance, "to_instance")
    index = _inputs.device_index(device_index)
    expected = _inputs.expect_current(expect_current)
    for name, value in (
        ("force_detach", force_detach),
        ("allow_same_subnet", allow_same_subnet),
        ("rollback", rollback),
    ):
        _flag(value, name)
    ctx = open_context(
        "move_eni",
        mode=mode,
        ec2=ec2,
        session=session,
        region=region,
        timeout=timeout,
        require_tag=require_tag,
    )
    gw = ctx.gateway
    current = gw.eni(eni_id)
    check.not_requester_managed(current)
    before = {"eni": current.summary()}
    if current.instance_id == target_id:
        return ctx.result(changed=False, before=before, after=before)
    check.not_primary(current)
    check.expect_current(expected, eni_id, [current.instance_id])
    source_id = current.instance_id
    instances = gw.instances([i for i in (source_id, target_id) if i])
    target = instances[target_id]
    chosen = _check_target(ctx, current, target, index, allow_same_subnet)
    check.tag_guard(ctx.guard, current.eni_id, current.tags)
    for instance in instances.values():
        check.tag_guard(ctx.guard, instance.instance_id, instance.tags)
    ctx.warnings.extend((HOT_ATTACH_WARNING, BANDWIDTH_WARNING))
    if force_detach:
        ctx.warnings.append(FORCE_WARNING)
    old = current.attachment

    if old is not None:
        _detach(ctx, current, old, force_detach)
    if ctx.mode != "apply":
        _attach(ctx, eni_id, target_id, chosen)
        if old is not None and old.delete_on_termination:
            # The new attachment's id exists only after the attach: nothing for DryRun to check.
            ctx.steps.append(
                Step(
                    "ec2:ModifyNetworkInterfaceAttribute",
                    {
                        "NetworkInterfaceId": eni_id,
                        "Attachment": {
                            "AttachmentId": "<new attachment>",
                            "DeleteOnTermination": True,
                        },
                    },
                    "planned",
                    "restore DeleteOnTermination; the attachment id is known after the attach",
                )
            )
        return ctx.result(
            changed=False,
            before=before,
            after={"eni": {**current.summary(), "instance": target_id, "device_index": chosen}},
        )
    if old is not None:
        _wait_available(ctx, current, old)
    detach_step = len(ctx.steps) - 1
    try:
        attachment = _attach(ctx, eni_id, target_id, chosen)
        final = _wait_attached(ctx, eni_id, target_id, attachment)
    except EniopsError as err:
        if old is None:
            raise
        _recover(ctx, current, old, target_id, err, rollback=rollback, detach_step=detach_step)
        raise AssertionError("unreachable: _recover always raises") from err
    if old is not None and old.delete_on_termination and final.attachment:
        _restore_delete_on_termination(ctx, eni_id, final.attachment.attachment_id)
    return ctx.result(changed=True, before=before, after={"eni": final.summary()})


# -- the steps --------------------------------------------------------------------------


def _flag(value: object, name: str) -> None:
    if not isinstance(value, bool):
        raise InvalidInput(f"{name}: {value!r} is not True or False")


def _check_target(
    ctx: Context, eni: Eni, target: Instance, index: int | None, allow_same_subnet: bool
) -> int:
    check.same_vpc_and_az(eni, target)
    check.instance_state(target)
    limits = ctx.gateway.limits(target.instance_type)
    chosen = check.choose_device_index(target, limits, index)
    check.no_same_subnet(eni, target, allow_same_subnet)
    return chosen


def _detach(ctx: Context, eni: Eni, old: Attachment, force: bool) -> None:
    gw = ctx.gateway

    def settled() -> bool:
        now = gw.eni(eni.eni_id, settle=True)
        if now.attachment is None or (
            now.attachment.attachment_id == old.attachment_id
            and now.attachment.status in ("detaching", "detached")
        ):
            return True
        if now.attachment.attachment_id != old.attachment_id:
            raise Conflict(
                "expect-mismatch",
                f"{eni.eni_id} was moved by someone else to {now.attachment.instance_id}; "
                "left where it is",
                details={"eni": now.summary(), "expected_attachment": old.attachment_id},
            )
        return False

    params: dict[str, Any] = {"AttachmentId": old.attachment_id}
    if force:
        params["Force"] = True
    # A stale AttachmentId fails in EC2 (the ENI moved since it was read); the re-read in
    # `settled` then raises Conflict saying where the ENI is, and nothing else is done.
    ctx.act("DetachNetworkInterface", params, settled=settled)


def _wait_available(ctx: Context, eni: Eni, old: Attachment) -> Eni:
    gw = ctx.gateway

    def done(now: Eni) -> bool:
        if now.attachment is not None and now.attachment.attachment_id != old.attachment_id:
            raise Conflict(
                "expect-mismatch",
                f"{eni.eni_id} was attached to {now.attachment.instance_id} by someone else",
                details={"eni": now.summary()},
            )
        return now.attachment is None and now.status == "available"

    return gw.poll(
        lambda: gw.eni(eni.eni_id, settle=True),
        done,
        doing=f"waiting for {eni.eni_id} to detach from {old.instance_id}",
        where=lambda now: {"eni": now.summary(), "source": old.instance_id},
    )


def _attach(ctx: Context, eni_id: str, instance_id: str, index: int) -> str:
    gw = ctx.gateway
    found: dict[str, str] = {}

    def settled() -> bool:
        now = gw.eni(eni_id, settle=True)
        if now.attachment is not None and now.attachment.instance_id == instance_id:
            found["attachment_id"] = now.attachment.attachment_id
            return True
        return False

    response = ctx.act(
        "AttachNetworkInterface",
        {
            "NetworkInterfaceId": eni_id,
            "InstanceId": instance_id,
            "DeviceIndex": index,
            "NetworkCardIndex": 0,
        },
        settled=settled,
    )
    return str((response or {}).get("AttachmentId") or found.get("attachment_id", ""))


def _wait_attached(ctx: Context, eni_id: str, instance_id: str, attachment_id: str) -> Eni:
    gw = ctx.gateway

    def done(now: Eni) -> bool:
        att = now.attachment
        return (
            att is not None
            and att.instance_id == instance_id
            and (not attachment_id or att.attachment_id == attachment_id)
            and att.status == "attached"
        )

    return gw.poll(
        lambda: gw.eni(eni_id, settle=True),
        done,
        doing=f"waiting for {eni_id} to attach to {instance_id}",
        where=lambda now: {"eni": now.summary(), "target": instance_id},
    )


def _restore_delete_on_termination(ctx: Context, eni_id: str, attachment_id: str) -> None:
    ctx.act(
        "ModifyNetworkInterfaceAttribute",
        {
            "NetworkInterfaceId": eni_id,
            "Attachment": {"AttachmentId": attachment_id, "DeleteOnTermination": True},
        },
        note="restore DeleteOnTermination from the source attachment",
    )


def _detached(eni: Eni) -> dict[str, Any]:
    return {
        **eni.summary(),
        "instance": None,
        "attachment_id": None,
        "device_index": None,
        "status": "available",
    }


def _recover(
    ctx: Context,
    eni: Eni,
    old: Attachment,
    target_id: str,
    err: EniopsError,
    *,
    rollback: bool,
    detach_step: int,
) -> None:
    """After a failed attach: put the ENI back on the source, or say exactly where it is."""
    gw = ctx.gateway
    details: dict[str, Any] = {
        "eni": eni.eni_id,
        "source": old.instance_id,
        "target": target_id,
        "device_index": old.device_index,
        "cause": err.to_dict(),
    }
    if rollback and not ctx.deadline.expired():
        try:
            attachment = _attach(ctx, eni.eni_id, old.instance_id, old.device_index)
            final = _wait_attached(ctx, eni.eni_id, old.instance_id, attachment)
            ctx.mark(detach_step, "rolled-back", "re-attached to the source")
            if old.delete_on_termination and final.attachment:
                _restore_delete_on_termination(ctx, eni.eni_id, final.attachment.attachment_id)
            raise PartialFailure(
                f"attaching {eni.eni_id} to {target_id} failed ({err.message}); it is back on "
                f"{old.instance_id} at device index {old.device_index}",
                rolled_back=True,
                details={**details, "state": final.summary(), "steps": _steps(ctx)},
            ) from err
        except PartialFailure:
            raise
        except EniopsError as rollback_err:
            details["rollback_error"] = rollback_err.to_dict()
    state: dict[str, Any] | str
    try:
        state = gw.eni(eni.eni_id).summary()
    except EniopsError as read_err:
        state = f"unknown: {read_err.message}"
    raise PartialFailure(
        f"attaching {eni.eni_id} to {target_id} failed ({err.message}) after it was detached "
        f"from {old.instance_id}; it was NOT put back" + ("" if rollback else " (rollback=False)"),
        rolled_back=False,
        details={**details, "state": state, "steps": _steps(ctx)},
    ) from err


def _steps(ctx: Context) -> list[dict[str, Any]]:
    return [step.to_dict() for step in ctx.steps]
