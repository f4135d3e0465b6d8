"""`remap_eip`: move an Elastic IP to another ENI in one guarded, verified call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import _inputs
from .. import _rules as check
from .._errors import InvalidInput
from .._executor import Run, execute
from .._inputs import UNASSOCIATED, EipRef, TagGuard
from .._model import Address, Eni, Instance, address_holder
from .._plan import AddressHeldBy, AddressOn, Chain, Change, Plan, Subject
from .._result import Mode, Result
from ._common import common, start

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_ec2 import EC2Client

#: States in which an instance's primary ENI may receive an Elastic IP.
EIP_TARGET_STATES = frozenset({"pending", "running", "stopped"})
UNGUARDED_WARNING = "without expect_current: nothing guarded against a split brain"


@dataclass(frozen=True)
class RemapRequest:
    """`remap_eip`'s arguments, parsed."""

    ref: EipRef
    to_instance: str | None
    to_eni: str | None
    private_ip: str | None
    expected: str | None
    replace_eip: bool


@dataclass(frozen=True)
class RemapState:
    """What `remap_eip` reads: the address, every address (for `target-has-eip`), the target."""

    address: Address
    addresses: tuple[Address, ...]
    instance: Instance | None
    eni: Eni
    #: The instance holding the address, when the address read does not name it.
    holder_instance: str | None = None


def remap_eip(
    eip: str,
    *,
    to_instance: str | None = None,
    to_eni: str | None = None,
    private_ip: str | None = None,
    expect_current: str | None = None,
    replace_eip: bool = False,
    mode: Mode = "apply",
    ec2: EC2Client | None = None,
    session: boto3.session.Session | None = None,
    region: str | None = None,
    timeout: float = 30.0,
    require_tag: str | None = None,
    role_arn: str | None = None,
) -> Result:
    """Move Elastic IP `eip` to an instance's primary ENI or to an ENI, in one call.

    Args:
        eip: allocation id (``eipalloc-…``) or public IPv4 address.
        to_instance: target instance; its primary ENI (device index 0, card 0) is used.
        to_eni: target ENI. Exactly one of `to_instance` and `to_eni`.
        private_ip: which private IP of the target ENI; defaults to its primary IP.
        expect_current: instance or ENI id that must hold the address now, or
            ``eniops.UNASSOCIATED`` (then EC2 itself refuses a taken address).
        replace_eip: take a private IP that carries another Elastic IP (which EC2 then
            disassociates; it is named in `before` and `warnings`).
        mode, ec2, session, region, timeout, require_tag, role_arn: the common keywords.

    Raises:
        InvalidInput: malformed arguments (before any AWS call).
        NotFound, Conflict, PreconditionFailed: a check failed; nothing was changed.
        AwsError, PermissionDenied: EC2 refused, or retries ran out.
        OperationTimeout: the association was not verified within `timeout`.
    """
    if (to_instance is None) == (to_eni is None):
        raise InvalidInput("remap_eip needs exactly one of to_instance and to_eni")
    request = RemapRequest(
        ref=_inputs.eip(eip),
        to_instance=(
            _inputs.instance_id(to_instance, "to_instance") if to_instance is not None else None
        ),
        to_eni=_inputs.eni_id(to_eni, "to_eni") if to_eni is not None else None,
        private_ip=_inputs.ipv4(private_ip, "private_ip") if private_ip is not None else None,
        expected=_inputs.expect_current(expect_current),
        replace_eip=_inputs.flag(replace_eip, "replace_eip"),
    )
    keywords = common(
        mode=mode,
        ec2=ec2,
        session=session,
        region=region,
        timeout=timeout,
        require_tag=require_tag,
        role_arn=role_arn,
    )
    run = start("remap_eip", keywords)
    state = read(run, request)
    return execute(plan(state, request, keywords.guard), run)


def read(run: Run, request: RemapRequest) -> RemapState:
    """Every address and the target, at once; the holder's instance only if unnamed."""
    reader = run.reader

    def target() -> tuple[Instance | None, Eni]:
        if request.to_instance is not None:
            instance = reader.instance(request.to_instance)
            return instance, check.eip_target(instance, EIP_TARGET_STATES)
        return None, reader.eni(str(request.to_eni))

    addresses, (instance, eni) = reader.at_once(reader.addresses, target)
    ref = request.ref
    address = next(
        (
            a
            for a in addresses
            if a.allocation_id == ref.allocation_id
            or (ref.public_ip and a.public_ip == ref.public_ip)
        ),
        None,
    )
    if address is None:  # not listed yet (just allocated) or not there: ask for it by name
        address = reader.address(ref)
    holder_instance = None
    expected = request.expected
    if (
        expected is not None
        and expected.startswith("i-")
        and address.eni_id
        and not address.instance_id
    ):
        holder_instance = reader.eni(address.eni_id).instance_id
    run.mark_read()
    return RemapState(address, tuple(addresses), instance, eni, holder_instance)


def plan(state: RemapState, request: RemapRequest, guard: TagGuard | None) -> Plan:
    """The association to make, or a refusal. Pure: the rules of `remap_eip`."""
    address, eni, instance = state.address, state.eni, state.instance
    ip = request.private_ip or eni.primary_ip
    check.private_ip_on_eni(ip, eni)
    before: dict[str, Any] = {"address": address.summary()}
    if address.eni_id == eni.eni_id and (address.private_ip or eni.primary_ip) == ip:
        return Plan("remap_eip", (), before=before, after=before)  # already in place
    holders = [address.eni_id, address.instance_id or state.holder_instance]
    check.expect_current(request.expected, str(request.ref), holders)
    check.tag_guard(guard, address.allocation_id, address.tags)
    target_id = instance.instance_id if instance is not None else eni.eni_id
    check.tag_guard(guard, target_id, instance.tags if instance is not None else eni.tags)
    displaced = check.eip_on_target(state.addresses, [address.allocation_id], eni, ip)
    check.no_eip_on_target(displaced, eni, ip, request.replace_eip)
    warnings: list[str] = []
    if displaced is not None:
        before["displaced"] = displaced.summary()
        warnings.append(
            f"{displaced.public_ip} ({displaced.allocation_id}) was on {ip} and is "
            "disassociated by EC2 (replace_eip)"
        )
    if address.associated and request.expected is None:
        warnings.append(
            f"{address.public_ip} was taken from {address.instance_id or address.eni_id} "
            + UNGUARDED_WARNING
        )
    return Plan(
        "remap_eip",
        (remap_chain(address, eni, ip, request.expected, holders),),
        before=before,
        after={"address": _planned(address, eni, ip)},
        warnings=tuple(warnings),
    )


def _planned(address: Address, eni: Eni, ip: str) -> dict[str, Any]:
    return {
        **address.summary(),
        "association_id": None,
        "eni": eni.eni_id,
        "instance": eni.instance_id,
        "private_ip": ip,
    }


def remap_chain(
    address: Address,
    eni: Eni,
    ip: str,
    expected: str | None,
    holders: list[str | None],
    *,
    name: str | None = None,
) -> Chain:
    """One `AssociateAddress` by `NetworkInterfaceId`, `AllowReassociation` sent explicitly
    (False for "only if unassociated": EC2 then refuses a taken address atomically)."""
    allowed: frozenset[str | None]
    if expected is None:
        allowed = frozenset(holders) if address.associated else frozenset({None})
    elif expected == UNASSOCIATED:
        allowed = frozenset({None})
    else:
        # The holder as the read showed it (its ENI and instance) passed expect_current:
        # either id still holding it is the expected holder (EC2 may show only the ENI).
        allowed = frozenset({expected, *(h for h in holders if h)})
    expect = AddressOn(
        address.allocation_id,
        eni_id=eni.eni_id,
        private_ip=ip,
        allowed=frozenset({address.eni_id, None}),
    )
    associate = Change(
        "AssociateAddress",
        {
            "AllocationId": address.allocation_id,
            "NetworkInterfaceId": eni.eni_id,
            "PrivateIpAddress": ip,
            "AllowReassociation": expected != UNASSOCIATED,
        },
        expect=expect,
        guard=AddressHeldBy(address.allocation_id, holders=allowed, target_eni=eni.eni_id),
        # Taking an address from its holder is not a compare-and-swap in EC2: a guarded
        # take is confirmed by a later read (`AllowReassociation=False` is atomic already).
        confirm=(expect,) if expected not in (None, UNASSOCIATED) else (),
        final=True,
    )
    subject: Subject = ("address", address.allocation_id)
    return Chain(
        name=name or f"remap {address.public_ip}",
        operation="remap_eip",
        items=(associate,),
        subjects=(subject,),
        before={"address": address.summary()},
        after={"address": _planned(address, eni, ip)},
        context={"eip": address.allocation_id, "public_ip": address.public_ip},
        holders=((subject, address_holder(eni.instance_id, ip)),),
        shows={"address": subject},
    )
