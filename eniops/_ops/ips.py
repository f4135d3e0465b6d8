"""`add_secondary_ips`, `remove_secondary_ips`: the safe alternative to a same-subnet ENI.

EC2 applies these asynchronously and offers no `DryRun` for them: after the call eniops
polls until the ENI shows the new set, and `dry-run` plans and says so in the warnings. A
reassigned IP takes its Elastic IP along; eniops waits until the address shows it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .._core import _inputs
from .._core._inputs import UNASSOCIATED, TagGuard
from .._core._result import Result
from .._core._threads import at_once
from .._executor import Run
from .._plan import Chain, Change, Plan
from .._plan._expect import IpsOn
from .._state import _rules as check
from .._state._model import Address, Eni, Instance, Limits, Subnet
from .._state._tags import IP_MOVE_TAG
from .._state._views import Described, Planned, Subject
from . import _ip_rules as ip_rules
from ._ipv4 import Assignment
from ._ipv6 import ipv6_chain, ipv6_chains, planned_ips
from ._operation import Body, Common, check_rules, run

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._core._keywords import CommonKeywords


@dataclass(frozen=True)
class IpsRequest:
    """The arguments of `add_secondary_ips` / `remove_secondary_ips`, parsed."""

    kind: Literal["instance", "eni"]
    target: str
    ips: tuple[str, ...]
    count: int = 0
    allow_reassignment: bool = False
    expected: str | None = None
    guard: TagGuard | None = None

    @classmethod
    def to_add(
        cls,
        *,
        target: object,
        ips: object,
        count: object,
        allow_reassignment: object,
        expect_current: object,
        guard: TagGuard | None,
    ) -> IpsRequest:
        """`add_secondary_ips`' own arguments, checked against its rules and parsed."""
        check_rules(
            "add_secondary_ips",
            ips=ips,
            count=count,
            expect_current=expect_current,
            allow_reassignment=allow_reassignment,
        )
        kind, eni_or_instance = _inputs.eni_or_instance(target, "target")
        return cls(
            kind,
            eni_or_instance,
            _inputs.ip_list(ips, "ips"),
            _inputs.count(count),
            _inputs.flag(allow_reassignment, "allow_reassignment"),
            _inputs.expect_current(expect_current),
            guard,
        )

    @classmethod
    def to_remove(cls, *, target: object, ips: object, guard: TagGuard | None) -> IpsRequest:
        """`remove_secondary_ips`' own arguments, checked against its rules and parsed."""
        check_rules("remove_secondary_ips", ips=ips)
        kind, eni_or_instance = _inputs.eni_or_instance(target, "target")
        return cls(kind, eni_or_instance, _inputs.ip_list(ips, "ips"), guard=guard)


@dataclass(frozen=True)
class AddState:
    """The ENI, its instance (for the type's limits), its subnet and the subnet's ENIs, and
    the Elastic IPs (that may follow a reassigned IP)."""

    eni: Eni
    instance: Instance | None
    #: None when only IPv6 addresses that ENIs of the subnet hold are asked for.
    subnet: Subnet | None
    neighbours: tuple[Eni, ...]
    limits: Limits | None
    addresses: tuple[Address, ...]


@dataclass(frozen=True)
class RemoveState:
    """The ENI, its instance (for a tag guard) and the Elastic IPs on it."""

    eni: Eni
    instance: Instance | None
    addresses: tuple[Address, ...]


def add_secondary_ips(
    target: str,
    *,
    ips: tuple[str, ...] | list[str] = (),
    count: int = 0,
    allow_reassignment: bool = False,
    expect_current: str | None = None,
    **common: Unpack[CommonKeywords],
) -> Result:
    """Add secondary private IPs to an ENI (or an instance's primary ENI), additively.

    Args:
        target: ENI id, or instance id meaning its primary ENI.
        ips: the addresses to add; IPs already on the ENI are skipped.
        count: instead of `ips`, how many free addresses to pick (never reserved or used).
        allow_reassignment: take IPs held by another ENI (any Elastic IP on them follows).
        expect_current: with reassignment, the ENI or instance that must hold them now.
        **common: the common keywords (`eniops.CommonKeywords`): mode, ec2, session,
            region, timeout (default 60 s), require_tag, role_arn, external_id.

    Raises:
        InvalidInput; NotFound; Conflict (``ip-in-use``, ``expect-mismatch``);
        PreconditionFailed (``ip-outside-subnet``, ``ip-reserved``, ``ip-limit``,
        ``ip-is-primary``, ``tag-guard``); AwsError; OperationTimeout (EC2 did not show the
        IPs in time).
    """
    keywords = Common.of("add_secondary_ips", common, timeout_s=ADD.timeout_s)
    request = IpsRequest.to_add(
        target=target,
        ips=ips,
        count=count,
        allow_reassignment=allow_reassignment,
        expect_current=expect_current,
        guard=keywords.guard,
    )
    return run(ADD, request, keywords)


def remove_secondary_ips(
    target: str,
    *,
    ips: tuple[str, ...] | list[str],
    **common: Unpack[CommonKeywords],
) -> Result:
    """Remove secondary private IPs from an ENI (or an instance's primary ENI).

    IPs not on the ENI are skipped; the primary IP and IPs with an Elastic IP are refused.

    Args:
        target: ENI id, or instance id meaning its primary ENI.
        ips: the addresses to remove.
        **common: the common keywords (`eniops.CommonKeywords`): mode, ec2, session,
            region, timeout (default 60 s), require_tag, role_arn, external_id.

    Raises:
        InvalidInput; NotFound; PreconditionFailed (``ip-is-primary``, ``ip-has-eip``,
        ``tag-guard``); AwsError; OperationTimeout.
    """
    keywords = Common.of("remove_secondary_ips", common, timeout_s=REMOVE.timeout_s)
    request = IpsRequest.to_remove(target=target, ips=ips, guard=keywords.guard)
    return run(REMOVE, request, keywords)


def _read_target(
    run: Run, request: IpsRequest, *, with_instance: bool
) -> tuple[Eni, Instance | None]:
    """The ENI to change and, when it is attached, its instance (for the type's limits)."""
    reader = run.reader
    if request.kind == "instance":
        instance = reader.instance(request.target)
        return check.primary_of(instance), instance
    eni = reader.eni(request.target)
    if with_instance and eni.instance_id:
        return eni, reader.instance(eni.instance_id)
    return eni, None


def read_add(run: Run, request: IpsRequest) -> AddState:
    """The target, then the subnet, its ENIs, the limits (and the Elastic IPs that may
    follow a reassigned IP) at once; for IPv6 addresses alone, less (`_read_add_ipv6`)."""
    if not request.count and all(_inputs.is_ipv6(ip) for ip in request.ips):
        return _read_add_ipv6(run, request)
    reader = run.reader
    eni, instance = _read_target(run, request, with_instance=True)
    subnet, neighbours, limits, addresses = at_once(
        lambda: reader.subnet(eni.subnet_id),
        lambda: reader.enis_where("subnet-id", [eni.subnet_id]),
        lambda: reader.limits(instance.instance_type) if instance else None,
        lambda: reader.addresses() if request.allow_reassignment else [],
    )
    run.mark_read()
    return AddState(eni, instance, subnet, tuple(neighbours), limits, tuple(addresses))


def _read_add_ipv6(run: Run, request: IpsRequest) -> AddState:
    """IPv6 addresses alone: the target and its instance, the ENIs holding the addresses and
    those with an interrupted move's intent, in one round trip; then the type's limits
    (cached) and, only for an address no ENI of the subnet holds, the subnet. No Elastic IP
    follows an IPv6 address."""
    reader = run.reader
    by_eni = request.kind == "eni"
    eni_read, instance_read = (
        (lambda: reader.eni(request.target), lambda: reader.instance_of_eni(request.target))
        if by_eni
        else (lambda: None, lambda: reader.instance(request.target))
    )
    found, instance, holding, intents = at_once(
        eni_read,
        instance_read,
        lambda: reader.enis_where("ipv6-addresses.ipv6-address", list(request.ips)),
        lambda: reader.enis_where("tag-key", [IP_MOVE_TAG]),
    )
    if found is not None:
        eni: Eni = found
    else:
        assert instance is not None
        eni = check.primary_of(instance.with_enis({e.eni_id: e for e in intents}))
    mine = {e.eni_id: e for e in (*holding, *intents, eni) if e.subnet_id == eni.subnet_id}
    shown = {ip for e in mine.values() for ip in e.ipv6_addresses}
    waiting, _ = ip_rules.on_their_way(
        mine.values(), request.ips, shown, _moving_from(request, mine)
    )
    unknown = any(ip not in shown and ip not in waiting for ip in request.ips)
    limits, subnet = at_once(
        lambda: reader.limits(instance.instance_type) if instance is not None else None,
        lambda: reader.subnet(eni.subnet_id) if unknown else None,
    )
    run.mark_read()
    return AddState(eni, instance, subnet, tuple(mine.values()), limits, ())


def _moving_from(request: IpsRequest, enis: Mapping[str, Eni]) -> Callable[[str], bool]:
    """Whether this call moves addresses from an ENI: it reassigns, and its guard names that
    ENI or the instance it is attached to (the re-run of an interrupted IPv6 move)."""

    def moves_from(eni_id: str) -> bool:
        if not request.allow_reassignment or request.expected is None:
            return False
        found = enis.get(eni_id)
        return request.expected in (eni_id, found.instance_id if found is not None else None)

    return moves_from


def read_remove(run: Run, request: IpsRequest) -> RemoveState:
    """The target and the Elastic IPs on it."""
    eni, instance = _read_target(run, request, with_instance=False)
    addresses = run.reader.addresses_on([eni.eni_id])
    run.mark_read()
    return RemoveState(eni, instance, tuple(addresses))


def _guard(request: IpsRequest, eni: Eni, instance: Instance | None) -> None:
    if request.kind == "instance" and instance is not None:
        check.tag_guard(request.guard, instance.instance_id, instance.tags)
    else:
        check.tag_guard(request.guard, eni.eni_id, eni.tags)


def plan_add_secondary_ips(request: IpsRequest, state: AddState) -> Plan:
    """Which IPs to assign (checked against the subnet, its users and the limit)."""
    eni, limits = state.eni, state.limits
    holders: dict[str, tuple[str, ...]] = {
        ip: tuple(i for i in (other.eni_id, other.instance_id) if i)
        for other in state.neighbours
        for ip in other.private_ips
    }
    v6_chains, warnings = _ipv6_to_add(request, state)
    to_add = _ipv4_to_add(request, state, holders)
    _guard(request, eni, state.instance)
    if limits is None:
        warnings.append(f"{eni.eni_id} is not attached: the per-interface IP limit is unknown")
    taken = {ip: holders[ip][0] for ip in to_add if ip in holders}
    if taken:
        warnings.append(
            "reassigned from another interface (any Elastic IP on them moved too): "
            + ", ".join(f"{ip} from {eni_id}" for ip, eni_id in sorted(taken.items()))
        )
    following = [
        a for a in state.addresses if a.private_ip in taken and a.eni_id == taken[a.private_ip]
    ]
    guarded = request.allow_reassignment and request.expected not in (None, UNASSOCIATED)
    chains = list(v6_chains)
    if to_add:
        v4 = Assignment(
            eni, to_add, request.allow_reassignment, following, taken if guarded else None
        ).chain()
        chains.insert(0, v4)
    before: Described = {"eni": eni.summary()}
    v6 = tuple(ip for ip in request.ips if _inputs.is_ipv6(ip))
    planned = Planned(("eni", eni.eni_id), planned_ips(eni, add=(*to_add, *v6)))
    after: Described = {"eni": planned} if chains else before
    return Plan(
        "add_secondary_ips", tuple(chains), before=before, after=after, warnings=tuple(warnings)
    )


def _ipv4_to_add(
    request: IpsRequest, state: AddState, holders: Mapping[str, tuple[str, ...]]
) -> tuple[str, ...]:
    """The IPv4 addresses to assign: those asked for, or `count` free ones (checked)."""
    wanted = tuple(ip for ip in request.ips if not _inputs.is_ipv6(ip))
    if not wanted and not request.count:
        return ()
    eni, subnet, limits = state.eni, state.subnet, state.limits
    assert subnet is not None  # read for every IPv4 address (`read_add`)
    if request.count:
        ip_rules.ip_limit(eni, limits, request.count)
        wanted = ip_rules.pick_free_ips(subnet, holders, request.count)
    return ip_rules.ips_to_add(
        eni,
        subnet,
        wanted,
        holders,
        allow_reassignment=request.allow_reassignment,
        expected=request.expected,
        limits=limits,
        primaries=[other.primary_ip for other in state.neighbours],
    )


def _ipv6_to_add(request: IpsRequest, state: AddState) -> tuple[list[Chain], list[str]]:
    """The chains that put the IPv6 addresses asked for on the ENI (checked): from nobody,
    moved from another ENI, or finishing a move a killed run left; and the warnings (an
    interrupted move's intent that this call does not finish)."""
    wanted = [ip for ip in request.ips if _inputs.is_ipv6(ip)]
    shown = {ip: other for other in state.neighbours for ip in other.ipv6_addresses}
    holders = {
        ip: tuple(i for i in (other.eni_id, other.instance_id) if i) for ip, other in shown.items()
    }
    by_id = {other.eni_id: other for other in state.neighbours}
    waiting, warnings = ip_rules.on_their_way(
        state.neighbours, wanted, shown, _moving_from(request, by_id)
    )
    for ip, source in waiting.items():
        found = by_id.get(source)
        holders[ip] = tuple(i for i in (source, found and found.instance_id) if i)
    free, moves = ip_rules.ipv6_to_add(
        state.eni,
        state.subnet,
        wanted,
        holders,
        allow_reassignment=request.allow_reassignment,
        expected=request.expected,
        limits=state.limits,
    )
    return ipv6_chains(state.eni, free, moves, set(shown)), warnings


def plan_remove_secondary_ips(request: IpsRequest, state: RemoveState) -> Plan:
    """Which IPs to unassign: never a primary, never one with an Elastic IP."""
    eni = state.eni
    with_eip = {a.private_ip for a in state.addresses if a.private_ip} | set(eni.public_ips)
    v4 = [ip for ip in request.ips if not _inputs.is_ipv6(ip)]
    to_remove = ip_rules.ips_to_remove(eni, v4, with_eip)
    v6 = ip_rules.ipv6_to_remove(eni, [ip for ip in request.ips if _inputs.is_ipv6(ip)])
    _guard(request, eni, state.instance)
    before = {"eni": eni.summary()}
    subject: Subject = ("eni", eni.eni_id)
    chains = [ipv6_chain(eni, v6, add=False)] if v6 else []
    if to_remove:
        unassign = Change(
            "UnassignPrivateIpAddresses",
            {"NetworkInterfaceId": eni.eni_id, "PrivateIpAddresses": list(to_remove)},
            expect=(IpsOn(eni.eni_id, ips=to_remove, present=False),),
            role="goal",
        )
        planned = {"eni": Planned(subject, planned_ips(eni, drop=to_remove))}
        context = {"eni": eni.eni_id, "removing": list(to_remove)}
        name = f"remove {', '.join(to_remove)}"
        chain = Chain(
            name, "remove_secondary_ips", (unassign,), (subject,), before, planned, context
        )
        chains.insert(0, chain)
    after = {"eni": Planned(subject, planned_ips(eni, drop=(*to_remove, *v6)))}
    return Plan(
        "remove_secondary_ips", tuple(chains), before=before, after=after if chains else before
    )


ADD = Body("add_secondary_ips", read_add, plan_add_secondary_ips, 60.0)
REMOVE = Body("remove_secondary_ips", read_remove, plan_remove_secondary_ips, 60.0)
