"""`add_secondary_ips`, `remove_secondary_ips`: the safe alternative to a same-subnet ENI.

EC2 applies these asynchronously and offers no `DryRun` for them: after the call eniops
polls until the ENI shows the new set, and `dry-run` plans and says so in the warnings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _inputs
from . import _rules as check
from ._errors import InvalidInput, PreconditionFailed
from ._model import Eni, Instance
from ._operation import Context, open_context
from ._result import Mode, Result

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_ec2 import EC2Client


def add_secondary_ips(
    target: str,
    *,
    ips: tuple[str, ...] | list[str] = (),
    count: int = 0,
    allow_reassignment: bool = False,
    expect_current: str | None = None,
    mode: Mode = "apply",
    ec2: EC2Client | None = None,
    session: boto3.session.Session | None = None,
    region: str | None = None,
    timeout: float = 60.0,
    require_tag: str | None = None,
) -> Result:
    """Add secondary private IPs to an ENI (or an instance's primary ENI), additively.

    Args:
        target: ENI id, or instance id meaning its primary ENI.
        ips: the addresses to add; IPs already on the ENI are skipped.
        count: instead of `ips`, how many free addresses to pick (never reserved or used).
        allow_reassignment: take IPs held by another ENI (any Elastic IP on them follows).
        expect_current: with reassignment, the ENI or instance that must hold them now.

    Raises:
        InvalidInput; NotFound; Conflict (``ip-in-use``, ``expect-mismatch``);
        PreconditionFailed (``ip-outside-subnet``, ``ip-reserved``, ``ip-limit``,
        ``tag-guard``); AwsError; OperationTimeout (EC2 did not show the IPs in time).
    """
    kind, target_id = _inputs.eni_or_instance(target, "target")
    wanted = _inputs.ipv4_list(ips, "ips")
    how_many = _inputs.count(count)
    if bool(wanted) == bool(how_many):
        raise InvalidInput("add_secondary_ips needs exactly one of ips and count")
    if not isinstance(allow_reassignment, bool):
        raise InvalidInput(f"allow_reassignment: {allow_reassignment!r} is not True or False")
    expected = _inputs.expect_current(expect_current)
    if expected is not None and not allow_reassignment:
        raise InvalidInput(
            "expect_current applies to add_secondary_ips only with allow_reassignment"
        )
    ctx = open_context(
        "add_secondary_ips",
        mode=mode,
        ec2=ec2,
        session=session,
        region=region,
        timeout=timeout,
        require_tag=require_tag,
    )
    gw = ctx.gateway
    eni, instance = _read_target(ctx, kind, target_id)
    subnet, neighbours, limits = gw.concurrently(
        lambda: gw.subnet(eni.subnet_id),
        lambda: gw.enis_in_subnet(eni.subnet_id),
        lambda: gw.limits(instance.instance_type) if instance else None,
    )
    holders: dict[str, tuple[str, ...]] = {
        ip: tuple(i for i in (other.eni_id, other.instance_id) if i)
        for other in neighbours
        for ip in other.private_ips
    }
    if how_many:
        check.ip_limit(eni, limits, how_many)
        wanted = check.pick_free_ips(subnet, holders, how_many)
    to_add = check.ips_to_add(
        eni,
        subnet,
        wanted,
        holders,
        allow_reassignment=allow_reassignment,
        expected=expected,
        limits=limits,
    )
    _guard(ctx, kind, eni, instance)
    if limits is None:
        ctx.warnings.append(f"{eni.eni_id} is not attached: the per-interface IP limit is unknown")
    before = {"eni": eni.summary()}
    if not to_add:
        return ctx.result(changed=False, before=before, after=before)
    taken = {ip: holders[ip][0] for ip in to_add if ip in holders}
    if taken:
        ctx.warnings.append(
            "reassigned from another interface (any Elastic IP on them moved too): "
            + ", ".join(f"{ip} from {eni_id}" for ip, eni_id in sorted(taken.items()))
        )
    params = {
        "NetworkInterfaceId": eni.eni_id,
        "PrivateIpAddresses": list(to_add),
        "AllowReassignment": allow_reassignment,
    }
    return _change_and_verify(ctx, eni, "AssignPrivateIpAddresses", params, to_add, before=before)


def remove_secondary_ips(
    target: str,
    *,
    ips: tuple[str, ...] | list[str],
    mode: Mode = "apply",
    ec2: EC2Client | None = None,
    session: boto3.session.Session | None = None,
    region: str | None = None,
    timeout: float = 60.0,
    require_tag: str | None = None,
) -> Result:
    """Remove secondary private IPs from an ENI (or an instance's primary ENI).

    IPs not on the ENI are skipped; the primary IP and IPs with an Elastic IP are refused.

    Raises:
        InvalidInput; NotFound; PreconditionFailed (``ip-is-primary``, ``ip-has-eip``,
        ``tag-guard``); AwsError; OperationTimeout.
    """
    kind, target_id = _inputs.eni_or_instance(target, "target")
    wanted = _inputs.ipv4_list(ips, "ips")
    if not wanted:
        raise InvalidInput("remove_secondary_ips needs at least one IP")
    ctx = open_context(
        "remove_secondary_ips",
        mode=mode,
        ec2=ec2,
        session=session,
        region=region,
        timeout=timeout,
        require_tag=require_tag,
    )
    gw = ctx.gateway
    eni, instance = _read_target(ctx, kind, target_id, need_instance=False)
    addresses = gw.addresses_on([eni.eni_id])
    with_eip = {a.private_ip for a in addresses if a.private_ip} | set(eni.public_ips)
    to_remove = check.ips_to_remove(eni, wanted, with_eip)
    _guard(ctx, kind, eni, instance)
    before = {"eni": eni.summary()}
    if not to_remove:
        return ctx.result(changed=False, before=before, after=before)

    params = {"NetworkInterfaceId": eni.eni_id, "PrivateIpAddresses": list(to_remove)}
    return _change_and_verify(
        ctx, eni, "UnassignPrivateIpAddresses", params, to_remove, before=before
    )


def _change_and_verify(
    ctx: Context,
    eni: Eni,
    operation: str,
    params: dict[str, Any],
    ips: tuple[str, ...],
    *,
    before: dict[str, Any],
) -> Result:
    """Assign or unassign `ips`, then poll until EC2 shows it (EC2 applies these late)."""
    gw = ctx.gateway
    adding = operation == "AssignPrivateIpAddresses"

    def in_place(now: Eni) -> bool:
        return all((ip in now.private_ips) == adding for ip in ips)

    def settled() -> bool:
        return in_place(gw.eni(eni.eni_id, settle=True))

    ctx.act(operation, params, dry_run_supported=False, settled=settled)
    if ctx.mode != "apply":
        kept = [ip for ip in eni.secondary_ips if ip not in ips]
        planned = {**eni.summary(), "secondary_ips": [*kept, *ips] if adding else kept}
        return ctx.result(changed=False, before=before, after={"eni": planned})
    verb, key = ("show", "adding") if adding else ("drop", "removing")
    final = gw.poll(
        lambda: gw.eni(eni.eni_id, settle=True),
        in_place,
        doing=f"waiting for {eni.eni_id} to {verb} {', '.join(ips)}",
        where=lambda now: {"eni": now.summary(), key: list(ips)},
    )
    return ctx.result(changed=True, before=before, after={"eni": final.summary()})


def _read_target(
    ctx: Context, kind: str, target_id: str, *, need_instance: bool = True
) -> tuple[Eni, Instance | None]:
    """The ENI to change and, when it is attached, its instance (for the type's limits)."""
    gw = ctx.gateway
    if kind == "instance":
        instance = gw.instance(target_id)
        primary = instance.primary_eni
        if primary is None:
            raise PreconditionFailed(
                "instance-state",
                f"{target_id} has no primary network interface",
                details={"instance": target_id, "state": instance.state},
            )
        return primary, instance
    eni = gw.eni(target_id)
    if need_instance and eni.instance_id:
        return eni, gw.instance(eni.instance_id)
    return eni, None


def _guard(ctx: Context, kind: str, eni: Eni, instance: Instance | None) -> None:
    if kind == "instance" and instance is not None:
        check.tag_guard(ctx.guard, instance.instance_id, instance.tags)
    else:
        check.tag_guard(ctx.guard, eni.eni_id, eni.tags)
