"""`move_route`: move a private overlay IP between instances by its routes, across zones.

An overlay IP (a /32 outside the VPC's ranges, configured on the instance's operating
system) is reached through a route `<ip>/32 -> eni-…` in the route tables its clients use.
Route tables are VPC-wide, so this works across availability zones, where Elastic IPs and
secondary IPs cannot. One `ReplaceRoute` per table (all at once), verified with
`DescribeRouteTables`; a table that fails puts the others back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import _inputs
from .. import _rules as check
from .._errors import Conflict, InvalidInput
from .._executor import Run, execute
from .._inputs import UNASSOCIATED, TagGuard
from .._model import Eni, Instance, Route, RouteTable
from .._plan import Chain, Change, Plan, RouteTo, Subject
from .._result import Mode, Result
from ._common import common, start

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_ec2 import EC2Client

OS_WARNING = (
    "the overlay address must be configured on the target's operating system: eniops "
    "changes only the routes"
)


@dataclass(frozen=True)
class RouteRequest:
    """`move_route`'s arguments, parsed."""

    destination: str
    to_instance: str | None
    to_eni: str | None
    route_tables: tuple[str, ...] | None
    expected: str | None
    rollback: bool


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
    mode: Mode = "apply",
    ec2: EC2Client | None = None,
    session: boto3.session.Session | None = None,
    region: str | None = None,
    timeout: float = 60.0,
    require_tag: str | None = None,
    role_arn: str | None = None,
) -> Result:
    """Point the routes for `destination` at an instance's primary ENI or at an ENI.

    Args:
        destination: an IPv4 CIDR (``192.168.100.10/32``); a bare address means /32.
        to_instance, to_eni: the target; exactly one. An instance means its primary ENI.
        route_tables: the tables to change; None means every table of the target's VPC
            that has a route for `destination` (at least one must).
        expect_current: the instance or ENI every such route targets now, or
            ``eniops.UNASSOCIATED``: no route exists yet, and one is created in each named
            table (EC2 refuses atomically if one appeared).
        rollback: put back the tables already changed when a later one fails.

    Raises:
        InvalidInput; NotFound; Conflict (``expect-mismatch``); PreconditionFailed
        (``source-dest-check``, ``vpc-mismatch``, ``tag-guard``); AwsError;
        OperationTimeout; PartialFailure.
    """
    if (to_instance is None) == (to_eni is None):
        raise InvalidInput("move_route needs exactly one of to_instance and to_eni")
    request = RouteRequest(
        destination=_inputs.cidr(destination),
        to_instance=(
            _inputs.instance_id(to_instance, "to_instance") if to_instance is not None else None
        ),
        to_eni=_inputs.eni_id(to_eni, "to_eni") if to_eni is not None else None,
        route_tables=_inputs.route_table_ids(route_tables),
        expected=_inputs.route_expect_current(expect_current),
        rollback=_inputs.flag(rollback, "rollback"),
    )
    if request.expected == UNASSOCIATED and request.route_tables is None:
        raise InvalidInput(
            "expect_current=UNASSOCIATED creates the route: name the route_tables to create it in"
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
    run = start("move_route", keywords)
    return execute(plan(read(run, request), request, keywords.guard), run)


def read(run: Run, request: RouteRequest) -> RouteState:
    """The target and the route tables at once (the tables that route the destination,
    when none are named); the ENIs routes point at, only when a guard names an instance."""
    reader = run.reader

    def target() -> tuple[Instance | None, Eni]:
        if request.to_instance is not None:
            instance = reader.instance(request.to_instance)
            return instance, check.primary_of(instance)
        return None, reader.eni(str(request.to_eni))

    def tables() -> list[RouteTable]:
        if request.route_tables is not None:
            return reader.route_tables(route_table_ids=request.route_tables)
        return reader.route_tables(destination=request.destination)

    (instance, eni), found = reader.at_once(target, tables)
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


def plan(state: RouteState, request: RouteRequest, guard: TagGuard | None) -> Plan:
    """The routes to replace (or create), checked; or a refusal. Pure."""
    eni, destination = state.eni, request.destination
    named = request.route_tables is not None
    tables = [t for t in state.tables if named or t.vpc_id == eni.vpc_id]
    for table in tables:
        check.same_vpc(table.route_table_id, table.vpc_id, eni)
    moves, left = check.routes_to_move(tables, destination, named=named, expected=request.expected)
    warnings = [
        f"{t.route_table_id} routes {destination} to {r.target}, not to an instance or an ENI: "
        "left alone (name the table and expect_current to replace it)"
        for t, r in left
    ]
    before: dict[str, Any] = {
        "destination": destination,
        "routes": {t.route_table_id: t.summary(destination) for t, _ in moves},
    }
    pending = [(t, r) for t, r in moves if r is None or r.eni_id != eni.eni_id]
    if not pending:
        return Plan("move_route", (), before=before, after=before, warnings=tuple(warnings))
    for table, route in pending:
        _expect(request.expected, table, route, state.holders, destination)
        check.tag_guard(guard, table.route_table_id, table.tags)
    target = state.instance
    check.tag_guard(
        guard, target.instance_id if target else eni.eni_id, target.tags if target else eni.tags
    )
    check.source_dest_check_off(eni)
    chains = tuple(
        route_chain(table, destination, eni, route, rollback=request.rollback)
        for table, route in pending
    )
    after = {
        "destination": destination,
        "routes": {
            **before["routes"],
            **{t.route_table_id: _planned(t, destination, eni) for t, _ in pending},
        },
    }
    return Plan(
        "move_route",
        chains,
        before=before,
        after=after,
        warnings=(OS_WARNING, *warnings),
        atomic=request.rollback,
    )


def _expect(
    expected: str | None,
    table: RouteTable,
    route: Route | None,
    holders: dict[str, str | None],
    destination: str,
) -> None:
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
    current = [route.eni_id, route.instance_id, holders.get(route.eni_id or ""), route.target]
    if expected == UNASSOCIATED:
        raise Conflict(
            "expect-mismatch",
            f"{where} exists already (to {route.target})",
            details={"route_table": table.route_table_id, "current": route.target},
        )
    check.expect_current(expected, where, current)


def _planned(table: RouteTable, destination: str, eni: Eni) -> dict[str, Any]:
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
    the previous target back (or deletes the created route)."""
    rtb = table.route_table_id
    previous = route.target if route is not None else None
    base = {"RouteTableId": rtb, "DestinationCidrBlock": destination}
    if route is None:
        change = Change(
            "CreateRoute",
            {**base, "NetworkInterfaceId": eni.eni_id},
            expect=RouteTo(rtb, destination=destination, eni_id=eni.eni_id, previous=None),
            undo=(
                Change(
                    "DeleteRoute",
                    base,
                    expect=RouteTo(rtb, destination=destination, eni_id=None, previous=eni.eni_id),
                    note="put back: the route did not exist",
                ),
            ),
        )
    else:
        via = route.via
        assert via is not None  # the rules never move a route without a target
        back = {**base, via.param: via.target_id}  # exactly what was there, whatever its type
        change = Change(
            "ReplaceRoute",
            {**base, "NetworkInterfaceId": eni.eni_id},
            expect=RouteTo(rtb, destination=destination, eni_id=eni.eni_id, previous=previous),
            undo=(
                Change(
                    "ReplaceRoute",
                    back,
                    expect=RouteTo(
                        rtb, destination=destination, eni_id=previous, previous=eni.eni_id
                    ),
                    note=f"put back to {previous}",
                ),
            ),
        )
    subject: Subject = ("route-table", rtb)
    return Chain(
        name=f"route {destination} in {rtb}",
        operation="move_route",
        items=(change,),
        subjects=(subject,),
        before={"route": table.summary(destination)},
        after={"route": _planned(table, destination, eni)},
        context={"route_table": rtb, "destination": destination, "target": eni.eni_id},
        shows={f"routes/{rtb}": subject},
        rollback=rollback,
    )
