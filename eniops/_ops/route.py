"""`move_route`: move a private overlay IP between instances by its routes, across zones.

An overlay IP (a /32 or /128 outside the VPC's ranges, configured on the instance's operating
system) is reached through a route `<ip>/32 -> eni-…` in the route tables its clients use.
Route tables are VPC-wide, so this works across availability zones, where Elastic IPs and
secondary IPs cannot. One `ReplaceRoute` per table (all at once), verified with
`DescribeRouteTables`; a table that fails puts the others back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._core import _inputs
from .._core._errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from .._core._inputs import UNASSOCIATED, TagGuard
from .._core._json import JsonDict
from .._core._result import Result
from .._core._threads import at_once
from .._executor import Run
from .._plan import Chain, Change, Plan
from .._plan._expect import RouteTo
from .._state import _rules as check
from .._state._model import Eni, Instance
from .._state._routes import Route, RouteTable, destination_key
from .._state._views import Described, Planned, RouteRef, Shown, Subject
from ._operation import Body, Common, Target, check_rules, run

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._core._keywords import CommonKeywords

OS_WARNING = (
    "the overlay address must be configured on the target's operating system: eniops "
    "changes only the routes"
)


@dataclass(frozen=True)
class RouteRequest:
    """`move_route`'s arguments, parsed."""

    destination: str
    target: Target
    route_tables: tuple[str, ...] | None
    expected: str | None
    rollback: bool
    guard: TagGuard | None = None

    @classmethod
    def of(
        cls,
        *,
        destination: object,
        to_instance: object,
        to_eni: object,
        route_tables: object,
        expect_current: object,
        rollback: object,
        guard: TagGuard | None,
    ) -> RouteRequest:
        """`move_route`'s own arguments, checked against its rules and parsed."""
        check_rules("move_route", to_instance=to_instance, to_eni=to_eni)
        request = cls(
            destination=_inputs.cidr(destination),
            target=Target.of(to_instance=to_instance, to_eni=to_eni),
            route_tables=_inputs.route_table_ids(route_tables),
            expected=_inputs.route_expect_current(expect_current),
            rollback=_inputs.flag(rollback, "rollback"),
            guard=guard,
        )
        if request.expected == UNASSOCIATED and request.route_tables is None:
            raise InvalidInput(
                "expect_current=UNASSOCIATED creates the route: name the route_tables to "
                "create it in"
            )
        return request


@dataclass(frozen=True)
class RouteState:
    """The target ENI (and instance), the route tables, and the instances of current targets."""

    eni: Eni
    instance: Instance | None
    tables: tuple[RouteTable, ...]
    #: ENI id -> the instance it is attached to, for routes that name only the ENI.
    holders: dict[str, str | None]


def move_route(
    destination: str,
    *,
    to_instance: str | None = None,
    to_eni: str | None = None,
    route_tables: list[str] | tuple[str, ...] | None = None,
    expect_current: str | None = None,
    rollback: bool = True,
    **common: Unpack[CommonKeywords],
) -> Result:
    """Point the routes for `destination` at an instance's primary ENI or at an ENI.

    Args:
        destination: an IPv4 or IPv6 CIDR (``192.168.100.10/32``, ``2001:db8::10/128``); a
            bare address means one host (/32, /128).
        to_instance, to_eni: the target; exactly one. An instance means its primary ENI.
        route_tables: the tables to change; None means every table of the target's VPC
            that has a route for `destination` (at least one must).
        expect_current: the instance or ENI every such route targets now, or
            ``eniops.UNASSOCIATED``: no route exists yet, and one is created in each named
            table (EC2 refuses atomically if one appeared); or, for a named table, the id of
            another target its route has (``nat-…``) to replace that.
        rollback: put back the tables already changed when a later one fails.
        **common: the common keywords (`eniops.CommonKeywords`): mode, ec2, session,
            region, timeout (default 60 s), require_tag, role_arn, external_id.

    Raises:
        InvalidInput; NotFound; Conflict (``expect-mismatch``); PreconditionFailed
        (``source-dest-check``, ``vpc-mismatch``, ``tag-guard``); AwsError;
        OperationTimeout; PartialFailure.
    """
    keywords = Common.of("move_route", common, timeout_s=ROUTE.timeout_s)
    request = RouteRequest.of(
        destination=destination,
        to_instance=to_instance,
        to_eni=to_eni,
        route_tables=route_tables,
        expect_current=expect_current,
        rollback=rollback,
        guard=keywords.guard,
    )
    return run(ROUTE, request, keywords)


def read_route(run: Run, request: RouteRequest) -> RouteState:
    """The target and the route tables at once (the tables that route the destination,
    when none are named); the ENIs routes point at, only when a guard names an instance."""
    reader = run.reader

    def target() -> tuple[Instance | None, Eni]:
        return request.target.read(reader, check.primary_of)

    def tables() -> list[RouteTable]:
        if request.route_tables is not None:
            return reader.route_tables(route_table_ids=request.route_tables)
        return reader.route_tables(destination=request.destination)

    (instance, eni), found = at_once(target, tables)
    holders: dict[str, str | None] = {}
    expected = request.expected
    if expected is not None and expected.startswith("i-"):
        unnamed = sorted(
            {
                r.eni_id
                for t in found
                for r in t.routes
                if r.destination == request.destination and r.eni_id and not r.instance_id
            }
        )
        if unnamed:
            holders = {
                e.eni_id: e.instance_id for e in reader.enis_where("network-interface-id", unnamed)
            }
    run.mark_read()
    return RouteState(eni, instance, tuple(found), holders)


def plan_move_route(request: RouteRequest, state: RouteState) -> Plan:
    """The routes to replace (or create), checked; or a refusal. Pure."""
    eni, destination = state.eni, request.destination
    named = request.route_tables is not None
    tables = [t for t in state.tables if named or t.vpc_id == eni.vpc_id]
    for table in tables:
        same_vpc(table.route_table_id, table.vpc_id, eni)
    moves, left = routes_to_move(tables, destination, named=named, expected=request.expected)
    warnings = [
        f"{t.route_table_id} routes {destination} to {r.target}, not to an instance or an ENI: "
        "left alone (name the table and expect_current to replace it)"
        for t, r in left
    ]
    routes: dict[str, Shown] = {t.route_table_id: t.summary(destination) for t, _ in moves}
    before: Described = {"destination": destination, "routes": routes}
    pending = [(t, r) for t, r in moves if r is None or r.eni_id != eni.eni_id]
    if not pending:
        return Plan("move_route", (), before=before, after=before, warnings=tuple(warnings))
    _guard(request, state, pending)
    chains = tuple(
        route_chain(table, destination, eni, route, rollback=request.rollback)
        for table, route in pending
    )
    moved = {t.route_table_id: c.after["route"] for (t, _), c in zip(pending, chains, strict=True)}
    after: Described = {"destination": destination, "routes": {**routes, **moved}}
    return Plan(
        "move_route",
        chains,
        before=before,
        after=after,
        warnings=(OS_WARNING, *warnings),
        atomic=request.rollback,
    )


def _guard(
    request: RouteRequest, state: RouteState, pending: list[tuple[RouteTable, Route | None]]
) -> None:
    """`expect_current` and `require_tag` on every route to move, and the target's checks."""
    eni = state.eni
    for table, route in pending:
        route_expected(request.expected, table, route, state.holders, request.destination)
        check.tag_guard(request.guard, table.route_table_id, table.tags)
    target = state.instance
    check.tag_guard(
        request.guard,
        target.instance_id if target else eni.eni_id,
        target.tags if target else eni.tags,
    )
    source_dest_check_off(eni)


def _planned(table: RouteTable, destination: str, eni: Eni) -> JsonDict:
    return {
        "route_table": table.route_table_id,
        "destination": destination,
        "target": eni.eni_id,
        "state": "active",
    }


def route_chain(
    table: RouteTable, destination: str, eni: Eni, route: Route | None, *, rollback: bool
) -> Chain:
    """One `ReplaceRoute` (or `CreateRoute` where there is none), verified; its undo puts
    back exactly what was there (or deletes the created route)."""
    rtb = table.route_table_id
    where = RouteRef(rtb, destination)
    previous = route.target if route is not None else None
    base = {"RouteTableId": rtb, destination_key(destination): destination}
    if route is None:
        change = Change(
            "CreateRoute",
            {**base, "NetworkInterfaceId": eni.eni_id},
            expect=(RouteTo(where, target=eni.eni_id, previous=None),),
            role="goal",
            undo=(
                Change(
                    "DeleteRoute",
                    base,
                    expect=(RouteTo(where, target=None, previous=eni.eni_id),),
                    note="put back: the route did not exist",
                ),
            ),
        )
    else:
        change = Change(
            "ReplaceRoute",
            {**base, "NetworkInterfaceId": eni.eni_id},
            expect=(RouteTo(where, target=eni.eni_id, previous=previous),),
            role="goal",
            undo=(_put_back(where, route, eni),),
        )
    subject: Subject = ("route-table", where)
    return Chain(
        name=f"route {destination} in {rtb}",
        operation="move_route",
        items=(change,),
        subjects=(subject,),
        before={"route": table.summary(destination)},
        after={"route": Planned(subject, _planned(table, destination, eni))},
        context={"route_table": rtb, "destination": destination, "target": eni.eni_id},
        rollback=rollback,
    )


def _put_back(where: RouteRef, route: Route, eni: Eni) -> Change:
    """The route as it was, whatever its target's type."""
    via = route.via
    assert via is not None  # the rules never move a route without a target
    base = {
        "RouteTableId": where.route_table_id,
        destination_key(where.destination): where.destination,
    }
    return Change(
        "ReplaceRoute",
        {**base, via.param: via.target_id},
        expect=(RouteTo(where, target=route.target, previous=eni.eni_id),),
        note=f"put back to {route.target}",
    )


ROUTE = Body("move_route", read_route, plan_move_route, 60.0)


# -- its rules: pure functions of described state ----------------------------------------


def source_dest_check_off(eni: Eni) -> None:
    """``source-dest-check``: an ENI that receives an overlay IP's traffic must not check."""
    if eni.source_dest_check:
        raise PreconditionFailed(
            "source-dest-check",
            f"{eni.eni_id} has SourceDestCheck on: it would drop the traffic routed to it; "
            "turn it off (ec2 modify-network-interface-attribute --no-source-dest-check)",
            details={"eni": eni.eni_id, "instance": eni.instance_id},
        )


def same_vpc(resource_id: str, vpc_id: str, eni: Eni) -> None:
    """``vpc-mismatch``: a route table (or ENI) outside the target ENI's VPC."""
    if vpc_id != eni.vpc_id:
        raise PreconditionFailed(
            "vpc-mismatch",
            f"{resource_id} is in {vpc_id}, {eni.eni_id} in {eni.vpc_id}",
            details={"resource": resource_id, "vpc": vpc_id, "eni_vpc": eni.vpc_id},
        )


def route_expected(
    expected: str | None,
    table: RouteTable,
    route: Route | None,
    holders: Mapping[str, str | None],
    destination: str,
) -> None:
    """`move_route`'s `expect_current` on one table's route for `destination`: the instance,
    ENI or other target it must route to now, or `UNASSOCIATED` (no route yet). `holders`
    names the instance of each ENI a route names alone."""
    if expected is None:
        return
    where = f"the route to {destination} in {table.route_table_id}"
    if route is None:
        if expected != UNASSOCIATED:
            raise Conflict(
                "expect-mismatch",
                f"{table.route_table_id} has no route to {destination}, not one to {expected}",
                details={"route_table": table.route_table_id, "expected": expected},
            )
        return
    if expected == UNASSOCIATED:
        raise Conflict(
            "expect-mismatch",
            f"{where} exists already (to {route.target})",
            details={"route_table": table.route_table_id, "current": route.target},
        )
    current = [route.eni_id, route.instance_id, holders.get(route.eni_id or ""), route.target]
    check.expect_current(expected, where, current)


def _replaceable(route: Route, *, named: bool, expected: str | None) -> bool:
    via = route.via
    if via is None or via.local:
        return False
    return via.movable or (named and expected == via.target_id)


def routes_to_move(
    tables: Iterable[RouteTable], destination: str, *, named: bool, expected: str | None
) -> tuple[list[tuple[RouteTable, Route | None]], list[tuple[RouteTable, Route]]]:
    """The tables (and their current route for `destination`) a route move changes, and
    those it leaves alone.

    With `named` tables every one is changed (a missing route is created); otherwise only the
    tables that route the destination, and at least one must. A route to anything but an
    instance or an ENI (a NAT gateway, a transit gateway, a peering...) is replaced only in
    a named table and when `expected` names that target: then it can be put back exactly;
    otherwise its table is left alone. The VPC's local route is never replaced.
    """
    found = [(table, table.route(destination)) for table in tables]
    if not named:
        found = [(table, route) for table, route in found if route is not None]
        if not found:
            raise NotFound(
                f"no route table of the VPC has a route for {destination}; name the tables "
                "(route_tables) to create it",
                details={"destination": destination},
            )
    moves: list[tuple[RouteTable, Route | None]] = []
    left: list[tuple[RouteTable, Route]] = []
    for table, route in found:
        if route is None or _replaceable(route, named=named, expected=expected):
            moves.append((table, route))
        else:
            left.append((table, route))
    if not moves:
        raise NotFound(
            f"no route for {destination} targets an instance or an ENI: "
            + "; ".join(f"{t.route_table_id} routes it to {r.target}" for t, r in left)
            + ". Name the table (route_tables) and its target (expect_current) to replace it",
            details={
                "destination": destination,
                "left_alone": {t.route_table_id: r.target for t, r in left},
            },
        )
    return moves, left
