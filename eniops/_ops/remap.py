"""`remap_eip`: move an Elastic IP to another ENI in one guarded, verified call."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._core import _inputs
from .._core._errors import PreconditionFailed
from .._core._inputs import UNASSOCIATED, EipRef, TagGuard
from .._core._json import JsonDict
from .._core._result import Result
from .._core._threads import at_once
from .._executor import Run
from .._plan import Chain, Change, Plan
from .._plan._expect import AddressHeldBy, AddressOn
from .._state import _rules as check
from .._state._model import Address, Eni, Instance
from .._state._tags import address_holder
from .._state._views import Planned, Shown, Subject
from . import _bookkeeping
from ._operation import Body, Common, Target, check_rules, run

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._core._keywords import CommonKeywords

UNGUARDED_WARNING = "without expect_current: nothing guarded against a split brain"


@dataclass(frozen=True)
class RemapRequest:
    """`remap_eip`'s arguments, parsed."""

    ref: EipRef
    target: Target
    private_ip: str | None
    expected: str | None
    replace_eip: bool
    guard: TagGuard | None = None

    @classmethod
    def of(
        cls,
        *,
        eip: object,
        to_instance: object,
        to_eni: object,
        private_ip: object,
        expect_current: object,
        replace_eip: object,
        guard: TagGuard | None,
    ) -> RemapRequest:
        """`remap_eip`'s own arguments, checked against its rules and parsed."""
        check_rules("remap_eip", to_instance=to_instance, to_eni=to_eni)
        return cls(
            ref=_inputs.eip(eip),
            target=Target.of(to_instance=to_instance, to_eni=to_eni),
            private_ip=_inputs.ipv4(private_ip, "private_ip") if private_ip is not None else None,
            expected=_inputs.expect_current(expect_current),
            replace_eip=_inputs.flag(replace_eip, "replace_eip"),
            guard=guard,
        )


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
    **common: Unpack[CommonKeywords],
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
        **common: the common keywords (`eniops.CommonKeywords`): mode, ec2, session,
            region, timeout (default 30 s), require_tag, role_arn, external_id.

    Raises:
        InvalidInput: malformed arguments (before any AWS call).
        NotFound, Conflict, PreconditionFailed: a check failed; nothing was changed.
        AwsError, PermissionDenied: EC2 refused, or retries ran out.
        OperationTimeout: the association was not verified within `timeout`.
    """
    keywords = Common.of("remap_eip", common, timeout_s=REMAP.timeout_s)
    request = RemapRequest.of(
        eip=eip,
        to_instance=to_instance,
        to_eni=to_eni,
        private_ip=private_ip,
        expect_current=expect_current,
        replace_eip=replace_eip,
        guard=keywords.guard,
    )
    return run(REMAP, request, keywords)


def read_remap(run: Run, request: RemapRequest) -> RemapState:
    """Every address and the target, at once; the holder's instance only if unnamed."""
    reader = run.reader

    def target() -> tuple[Instance | None, Eni]:
        return request.target.read(
            reader, lambda instance: eip_target(instance, check.EIP_TARGET_STATES)
        )

    addresses, (instance, eni) = at_once(reader.addresses, target)
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
    holder_instance = holder_instance_of(run, address, request.expected)
    run.mark_read()
    return RemapState(address, tuple(addresses), instance, eni, holder_instance)


def holder_instance_of(run: Run, address: Address, expected: str | None) -> str | None:
    """The instance holding `address`, read only when an instance is expected and the
    address read names only the ENI."""
    if expected is None or not expected.startswith("i-") or not address.eni_id:
        return None
    if address.instance_id:
        return None
    return run.reader.eni(address.eni_id).instance_id


def plan_remap_eip(request: RemapRequest, state: RemapState) -> Plan:
    """The association to make, or a refusal. Pure: the rules of `remap_eip`."""
    address, eni, instance = state.address, state.eni, state.instance
    ip = request.private_ip or eni.primary_ip
    private_ip_on_eni(ip, eni)
    before: dict[str, Shown] = {"address": address.summary()}
    if address.eni_id == eni.eni_id and (address.private_ip or eni.primary_ip) == ip:
        return Plan("remap_eip", (), before=before, after=before)  # already in place
    holders = [address.eni_id, address.instance_id or state.holder_instance]
    check.expect_current(request.expected, str(request.ref), holders)
    guard = request.guard
    check.tag_guard(guard, address.allocation_id, address.tags)
    target_id = instance.instance_id if instance is not None else eni.eni_id
    check.tag_guard(guard, target_id, instance.tags if instance is not None else eni.tags)
    displaced = eip_on_target(state.addresses, [address.allocation_id], eni, ip)
    no_eip_on_target(displaced, eni, ip, request.replace_eip)
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
    chain = remap_chain(address, eni, ip, request.expected, holders)
    return Plan(
        "remap_eip", (chain,), before=before, after=dict(chain.after), warnings=tuple(warnings)
    )


def _planned(address: Address, eni: Eni, ip: str) -> JsonDict:
    return {
        **address.summary(),
        "association_id": None,
        "eni": eni.eni_id,
        "instance": eni.instance_id,
        "private_ip": ip,
    }


def associate(
    address: Address, eni: Eni, ip: str, expected: str | None, holders: list[str | None]
) -> Change:
    """One `AssociateAddress` by `NetworkInterfaceId`, `AllowReassociation` sent explicitly
    (False for "only if unassociated": EC2 then refuses a taken address atomically), with
    the address's `eniops:holder` tag riding beside its check."""
    allowed: frozenset[str | None]
    if expected is None:
        allowed = frozenset(holders) if address.associated else frozenset({None})
    elif expected == UNASSOCIATED:
        allowed = frozenset({None})
    else:
        # The holder as the read showed it (its ENI and instance) passed expect_current:
        # either id still holding it is the expected holder (EC2 may show only the ENI).
        allowed = frozenset({expected, *(h for h in holders if h)})
    # While EC2 catches up it may still show the address where it was: on its holder, or on
    # nothing only if it was on nothing (EC2 moves an associated address in one step).
    on = AddressOn(
        address.allocation_id,
        eni_id=eni.eni_id,
        private_ip=ip,
        allowed=frozenset({address.eni_id}),
    )
    return Change(
        "AssociateAddress",
        {
            "AllocationId": address.allocation_id,
            "NetworkInterfaceId": eni.eni_id,
            "PrivateIpAddress": ip,
            "AllowReassociation": expected != UNASSOCIATED,
        },
        expect=(on,),
        # Taking an address from its holder is not a compare-and-swap in EC2: a guarded
        # take is confirmed by a later read (`AllowReassociation=False` is atomic already).
        check="confirm" if expected not in (None, UNASSOCIATED) else "wait",
        role="goal",
        guard=AddressHeldBy(address.allocation_id, holders=allowed, target_eni=eni.eni_id),
        riders=(
            _bookkeeping.holder(
                address.allocation_id, address_holder(eni.instance_id, ip), address.holder_tag
            ),
        ),
    )


def remap_chain(
    address: Address, eni: Eni, ip: str, expected: str | None, holders: list[str | None]
) -> Chain:
    """The chain that moves `address` to `ip` of `eni`."""
    subject: Subject = ("address", address.allocation_id)
    return Chain(
        name=f"remap {address.public_ip}",
        operation="remap_eip",
        items=(associate(address, eni, ip, expected, holders),),
        subjects=(subject,),
        before={"address": address.summary()},
        after={"address": Planned(subject, _planned(address, eni, ip))},
        context={"eip": address.allocation_id, "public_ip": address.public_ip},
    )


REMAP = Body("remap_eip", read_remap, plan_remap_eip, 30.0)


# -- its rules: pure functions of described state ----------------------------------------


def private_ip_on_eni(private_ip: str, eni: Eni) -> None:
    """`remap_eip`'s `private_ip` must be one of the target ENI's private IPs."""
    if private_ip not in eni.private_ips:
        raise PreconditionFailed(
            "private-ip-not-on-eni",
            f"{private_ip} is not a private IP of {eni.eni_id}",
            details={"eni": eni.eni_id, "private_ip": private_ip, "eni_ips": list(eni.private_ips)},
        )


def eip_target(instance: Instance, allowed: frozenset[str]) -> Eni:
    """An instance's primary ENI, for an Elastic IP: the instance must be in `allowed`."""
    check.instance_state(instance, allowed)
    return check.primary_of(instance)


def eip_on_target(
    addresses: Iterable[Address], moving: Iterable[str], eni: Eni, private_ip: str
) -> Address | None:
    """Another Elastic IP already on the target ENI's private IP, if any.

    EC2 would silently disassociate it when `moving` (allocation ids) are associated there.
    """
    leaving = set(moving)
    return next(
        (
            a
            for a in addresses
            if a.allocation_id not in leaving
            and a.eni_id == eni.eni_id
            and (a.private_ip or eni.primary_ip) == private_ip
        ),
        None,
    )


def no_eip_on_target(displaced: Address | None, eni: Eni, private_ip: str, replace: bool) -> None:
    """``target-has-eip``: refuse to take a private IP that carries another Elastic IP."""
    if displaced is not None and not replace:
        raise PreconditionFailed(
            "target-has-eip",
            f"{private_ip} on {eni.eni_id} already carries Elastic IP {displaced.public_ip}; "
            "EC2 would silently disassociate it (pass replace_eip to accept that)",
            details={
                "eni": eni.eni_id,
                "private_ip": private_ip,
                "displaced": displaced.summary(),
            },
        )
