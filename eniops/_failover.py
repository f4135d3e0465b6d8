"""`failover_instance`: move everything a failed instance carries to its standby."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from . import _inputs
from ._eip import remap_eip
from ._eni import move_eni
from ._errors import (
    EniopsError,
    InvalidInput,
    OperationTimeout,
    PartialFailure,
    PreconditionFailed,
)
from ._ips import add_secondary_ips
from ._operation import open_context
from ._result import Mode, Result

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_ec2 import EC2Client

#: At most this many steps run at once: well inside EC2's mutating-call token buckets.
MAX_PARALLEL_STEPS = 4

Step = tuple[str, Callable[..., Result], str, dict[str, Any]]


def failover_instance(
    from_instance: str,
    *,
    to_instance: str,
    mode: Mode = "apply",
    ec2: EC2Client | None = None,
    session: boto3.session.Session | None = None,
    region: str | None = None,
    timeout: float = 300.0,
    require_tag: str | None = None,
) -> Result:
    """Move every Elastic IP on `from_instance`'s primary ENI and every movable secondary ENI
    to `to_instance`, each step guarded by ``expect_current=from_instance``.

    Independent steps run concurrently, each checking its own preconditions before it
    changes anything. A second run finds nothing to move and changes nothing.

    Raises:
        InvalidInput; NotFound; PreconditionFailed (when no step changed anything);
        PartialFailure when some steps changed things and others failed (details list every
        step's outcome); AwsError; OperationTimeout.
    """
    source_id = _inputs.instance_id(from_instance, "from_instance")
    target_id = _inputs.instance_id(to_instance, "to_instance")
    if source_id == target_id:
        raise InvalidInput("from_instance and to_instance are the same instance")
    ctx = open_context(
        "failover_instance",
        mode=mode,
        ec2=ec2,
        session=session,
        region=region,
        timeout=timeout,
        require_tag=require_tag,
    )
    gw = ctx.gateway
    # The addresses are read with the instances, not after them: one round trip, not two.
    instances, every_address = gw.concurrently(
        lambda: gw.instances([source_id, target_id]), gw.all_addresses
    )
    source, target = instances[source_id], instances[target_id]
    primary, target_primary = source.primary_eni, target.primary_eni
    addresses = [a for a in every_address if primary and a.eni_id == primary.eni_id]
    steps: list[Step] = []
    for address in sorted(addresses, key=lambda a: a.public_ip):
        if primary is None or address.private_ip in (None, primary.primary_ip):
            steps.append(
                (
                    f"remap {address.public_ip}",
                    remap_eip,
                    address.allocation_id,
                    {"to_instance": target_id, "expect_current": source_id},
                )
            )
            continue
        if target_primary is None or target_primary.subnet_id != primary.subnet_id:
            raise PreconditionFailed(
                "vpc-mismatch" if target.vpc_id != source.vpc_id else "ip-outside-subnet",
                f"{address.public_ip} is on secondary IP {address.private_ip}; moving it needs "
                "both primary ENIs in one subnet",
                details={
                    "address": address.summary(),
                    "source_subnet": primary.subnet_id,
                    "target_subnet": target_primary.subnet_id if target_primary else None,
                },
            )
        steps.append(
            (
                f"secondary IP {address.private_ip} with {address.public_ip}",
                add_secondary_ips,
                target_id,
                {
                    "ips": (address.private_ip,),
                    "allow_reassignment": True,
                    "expect_current": source_id,
                },
            )
        )
    # Service-owned interfaces (EFA, trunk, ...) stay: they are not ours to move.
    movable = sorted(
        (
            e
            for e in source.enis
            if e.attachment
            and not e.attachment.is_primary
            and e.interface_type == "interface"
            and not e.requester_managed
        ),
        key=lambda e: e.attachment.device_index if e.attachment else 0,
    )
    if movable:
        free = (i for i in range(1, 32) if i not in target.used_device_indexes(0))
        for eni in movable:
            steps.append(
                (
                    f"move {eni.eni_id}",
                    move_eni,
                    eni.eni_id,
                    {
                        "to_instance": target_id,
                        "expect_current": source_id,
                        "device_index": next(free),
                    },
                )
            )
    before = {
        "from": source_id,
        "to": target_id,
        "elastic_ips": [a.summary() for a in addresses],
        "enis": [e.eni_id for e in movable],
    }
    if not steps:
        return ctx.result(changed=False, before=before, after=before)

    if ctx.mode == "plan":
        planned = _run_all(steps, gw.client, "plan", ctx.deadline.remaining, require_tag)
        failures = [outcome for outcome in planned if isinstance(outcome, EniopsError)]
        if failures:
            raise failures[0]
        return ctx.result(
            changed=False,
            before=before,
            after=before,
            children=tuple(o for o in planned if isinstance(o, Result)),
        )
    # Each step checks its own preconditions before it changes anything; steps are
    # independent, so they run at once and a failure in one is reported with the others.
    outcomes = _run_all(steps, gw.client, ctx.mode, ctx.deadline.remaining, require_tag)
    children = tuple(o for o in outcomes if isinstance(o, Result))
    errors = [
        (name, o)
        for (name, *_), o in zip(steps, outcomes, strict=True)
        if isinstance(o, EniopsError)
    ]
    if errors:
        report = [
            {"step": name, "result": o.to_dict()}
            if isinstance(o, Result)
            else {"step": name, "error": o.to_dict()}
            for (name, *_), o in zip(steps, outcomes, strict=True)
        ]
        if not any(child.changed for child in children):
            raise errors[0][1]
        raise PartialFailure(
            f"failover of {source_id} to {target_id}: {len(errors)} of {len(steps)} steps "
            f"failed ({'; '.join(f'{n}: {e.message}' for n, e in errors)})",
            rolled_back=False,
            details={"from": source_id, "to": target_id, "steps": report},
        )
    return ctx.result(
        changed=any(child.changed for child in children),
        before=before,
        after={
            "from": source_id,
            "to": target_id,
            "steps": [child.operation for child in children],
        },
        children=children,
    )


def _run_all(
    steps: list[Step],
    client: Any,
    mode: str,
    remaining: Callable[[], float],
    require_tag: str | None,
) -> list[Result | EniopsError]:
    def run(step: Step) -> Result | EniopsError:
        _, operation, resource, kwargs = step
        left = remaining()
        if left <= 0:
            return OperationTimeout("the deadline passed before this step could start")
        try:
            return operation(
                resource, ec2=client, mode=mode, timeout=left, require_tag=require_tag, **kwargs
            )
        except EniopsError as err:
            return err

    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_STEPS, len(steps))) as pool:
        return list(pool.map(run, steps))
