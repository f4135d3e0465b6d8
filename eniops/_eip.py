"""`remap_eip`: move an Elastic IP to another ENI in one guarded, verified call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _inputs
from . import _rules as check
from ._errors import Conflict, InvalidInput, PreconditionFailed
from ._inputs import UNASSOCIATED
from ._model import Address, Eni, Instance
from ._operation import open_context
from ._result import Mode, Result

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_ec2 import EC2Client

#: States in which an instance's primary ENI may receive an Elastic IP.
EIP_TARGET_STATES = frozenset({"pending", "running", "stopped"})


def remap_eip(
    eip: str,
    *,
    to_instance: str | None = None,
    to_eni: str | None = None,
    private_ip: str | None = None,
    expect_current: str | None = None,
    mode: Mode = "apply",
    ec2: EC2Client | None = None,
    session: boto3.session.Session | None = None,
    region: str | None = None,
    timeout: float = 30.0,
    require_tag: str | None = None,
) -> Result:
    """Move Elastic IP `eip` to an instance's primary ENI or to an ENI, in one call.

    Args:
        eip: allocation id (``eipalloc-…``) or public IPv4 address.
        to_instance: target instance; its primary ENI (device index 0, card 0) is used.
        to_eni: target ENI. Exactly one of `to_instance` and `to_eni`.
        private_ip: which private IP of the target ENI; defaults to its primary IP.
        expect_current: instance or ENI id that must hold the address now, or
            ``eniops.UNASSOCIATED`` (then EC2 itself refuses a taken address).
        mode, ec2, session, region, timeout, require_tag: see the package documentation.

    Raises:
        InvalidInput: malformed arguments (before any AWS call).
        NotFound, Conflict, PreconditionFailed: a check failed; nothing was changed.
        AwsError, PermissionDenied: EC2 refused, or retries ran out.
        OperationTimeout: the association was not verified within `timeout`.
    """
    ref = _inputs.eip(eip)
    if (to_instance is None) == (to_eni is None):
        raise InvalidInput("remap_eip needs exactly one of to_instance and to_eni")
    target_instance = (
        _inputs.instance_id(to_instance, "to_instance") if to_instance is not None else None
    )
    target_eni = _inputs.eni_id(to_eni, "to_eni") if to_eni is not None else None
    wanted_ip = _inputs.ipv4(private_ip, "private_ip") if private_ip is not None else None
    expected = _inputs.expect_current(expect_current)
    ctx = open_context(
        "remap_eip",
        mode=mode,
        ec2=ec2,
        session=session,
        region=region,
        timeout=timeout,
        require_tag=require_tag,
    )
    gw = ctx.gateway

    def read_target() -> tuple[Instance | None, Eni]:
        if target_instance is None:
            return None, gw.eni(str(target_eni))
        instance = gw.instance(target_instance)
        check.instance_state(instance, EIP_TARGET_STATES)
        primary = instance.primary_eni
        if primary is None:
            raise PreconditionFailed(
                "instance-state",
                f"{target_instance} has no primary network interface",
                details={"instance": target_instance, "state": instance.state},
            )
        return instance, primary

    address, (instance, eni) = gw.concurrently(lambda: gw.address(ref), read_target)
    ip = wanted_ip or eni.primary_ip
    check.private_ip_on_eni(ip, eni)
    before = {"address": address.summary()}
    if address.eni_id == eni.eni_id and address.private_ip == ip:
        # Already in place: nothing to guard, nothing to change (a re-run is a no-op).
        return ctx.result(changed=False, before=before, after=before)
    check.expect_current(expected, str(ref), holders_of(address, expected, gw.eni))
    check.tag_guard(ctx.guard, address.allocation_id, address.tags)
    if instance is not None:
        check.tag_guard(ctx.guard, instance.instance_id, instance.tags)
    else:
        check.tag_guard(ctx.guard, eni.eni_id, eni.tags)
    target = {
        **address.summary(),
        "association_id": None,
        "eni": eni.eni_id,
        "instance": eni.instance_id,
        "private_ip": ip,
    }
    if address.associated and expected is None:
        ctx.warnings.append(
            f"{address.public_ip} was taken from {address.instance_id or address.eni_id} "
            "without expect_current: nothing guarded against a split brain"
        )

    def on_target(found: Address) -> bool:
        return found.eni_id == eni.eni_id and found.private_ip == ip

    last_seen: dict[str, Address] = {}

    def settled() -> bool:
        last_seen["address"] = gw.address(ref, settle=True)
        return on_target(last_seen["address"])

    params = {
        "AllocationId": address.allocation_id,
        "NetworkInterfaceId": eni.eni_id,
        "PrivateIpAddress": ip,
        "AllowReassociation": expected != UNASSOCIATED,
    }
    try:
        ctx.act("AssociateAddress", params, settled=settled)
    except Conflict as err:
        holder = last_seen.get("address")
        raise Conflict(
            "expect-mismatch",
            f"{address.public_ip} was taken by someone else before it could be associated",
            details={**err.details, "current": holder.summary() if holder else None},
        ) from err
    if ctx.mode != "apply":
        return ctx.result(changed=False, before=before, after={"address": target})

    final = gw.poll(
        lambda: gw.address(ref, settle=True),
        on_target,
        doing=f"verifying {address.public_ip} on {eni.eni_id}",
        where=lambda found: {"address": found.summary(), "wanted": target},
    )
    after = final.summary()
    # The ENI's instance is known from the read; some describes leave it out of the address.
    after["instance"] = after["instance"] or eni.instance_id
    return ctx.result(changed=True, before=before, after={"address": after})


def holders_of(address: Address, expected: str | None, read_eni: Any) -> list[str | None]:
    """Who holds `address` now: its ENI and instance.

    EC2 names the instance of an ENI-associated address; when a describe leaves it out and
    the caller expects an instance, the ENI's attachment says which (one extra read, only then).
    """
    holders: list[str | None] = [address.eni_id, address.instance_id]
    if (
        expected is not None
        and expected.startswith("i-")
        and address.eni_id
        and not address.instance_id
    ):
        holders.append(read_eni(address.eni_id).instance_id)
    return holders
