"""move_route on the strict layer, and role_arn into a second account."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws
from support import client_in_account

import eniops
from eniops._core import _codes
from eniops.testing import StrictEc2, build_lab, short_waits


def targets(world):
    """Each lab route table's target for the overlay IP."""
    found = world.client.describe_route_tables(RouteTableIds=list(world.lab.route_tables))
    return {
        table["RouteTableId"]: next(
            (
                r.get("NetworkInterfaceId")
                for r in table["Routes"]
                if r.get("DestinationCidrBlock") == world.lab.overlay
            ),
            None,
        )
        for table in found["RouteTables"]
    }


def fail_the_second_table(world):
    """The second lab table's ReplaceRoute is refused once."""
    world.strict.inject(
        "ReplaceRoute",
        _codes.INVALID_PARAMETER_VALUE,
        times=1,
        when=lambda p: p["RouteTableId"] == world.lab.route_tables[1],
    )


def move(world, **kwargs):
    kwargs.setdefault("to_instance", world.lab.standby)
    return eniops.move_route(world.lab.overlay, ec2=world.client, **kwargs)


def test_every_table_that_routes_it_moves_at_once(world):
    """Both tables are replaced, each verified; expect_current names the active instance."""
    result = move(world, expect_current=world.lab.active)
    standby_eni = world.primary_eni(world.lab.standby)
    assert set(targets(world).values()) == {standby_eni}
    assert [s.action for s in result.steps] == ["ec2:ReplaceRoute", "ec2:ReplaceRoute"]
    assert any("operating system" in w for w in result.warnings)
    assert {r["target"] for r in result.after["routes"].values()} == {standby_eni}


def test_a_bare_address_means_slash_32_and_a_rerun_changes_nothing(world):
    """'192.168.100.10' is the /32; a second run finds every route in place."""
    eniops.move_route("192.168.100.10", to_instance=world.lab.standby, ec2=world.client)
    world.strict.reset_calls()
    again = move(world)
    assert not again.changed
    assert world.strict.mutations == []


def test_a_table_failing_halfway_is_put_back(world):
    """The second replace is refused: the first table is put back (rolled back)."""
    before = targets(world)
    fail_the_second_table(world)
    with pytest.raises(eniops.PartialFailure) as caught:
        move(world)
    assert caught.value.rolled_back
    assert targets(world) == before


def test_without_rollback_the_changed_table_stays_and_is_named(world):
    """rollback=False: the replaced table stays replaced; details say where each route is."""
    fail_the_second_table(world)
    with pytest.raises(eniops.PartialFailure) as caught:
        move(world, rollback=False)
    assert not caught.value.rolled_back
    where = caught.value.details["resources"]
    standby_eni = world.primary_eni(world.lab.standby)
    assert where[world.lab.route_tables[0]]["target"] == standby_eni
    assert where[world.lab.route_tables[1]]["target"] == world.primary_eni(world.lab.active)


def _nat_tables(world, count):
    """A NAT gateway and `count` new route tables routing the overlay IP to it."""
    with world.strict.internal() as client:
        allocation = client.allocate_address(Domain="vpc")["AllocationId"]
        nat = client.create_nat_gateway(SubnetId=world.lab.subnet_b, AllocationId=allocation)[
            "NatGateway"
        ]["NatGatewayId"]
        tables = []
        for _ in range(count):
            table = client.create_route_table(VpcId=world.lab.vpc_id)["RouteTable"]["RouteTableId"]
            client.create_route(
                RouteTableId=table, DestinationCidrBlock=world.lab.overlay, NatGatewayId=nat
            )
            tables.append(table)
    return nat, tables


def _route_of(world, table):
    with world.strict.internal() as client:
        found = client.describe_route_tables(RouteTableIds=[table])["RouteTables"][0]
    return next(r for r in found["Routes"] if r.get("DestinationCidrBlock") == world.lab.overlay)


def test_a_nat_route_is_left_alone_while_a_later_table_fails(world):
    """Three tables route the overlay IP: two to the active instance, one to a NAT gateway.
    Without a guard the NAT route is never touched (named in the warnings of a success); when
    a later table fails, the first is put back and the NAT route is still exactly as it was."""
    nat, (nat_table,) = _nat_tables(world, 1)
    before = targets(world)
    world.strict.inject(
        "ReplaceRoute",
        _codes.INVALID_PARAMETER_VALUE,
        when=lambda p: p["RouteTableId"] == world.lab.route_tables[1],
    )
    with pytest.raises(eniops.PartialFailure) as caught:
        move(world)
    assert caught.value.rolled_back
    assert targets(world) == before
    assert _route_of(world, nat_table).get("NatGatewayId") == nat
    assert all(c.params["RouteTableId"] != nat_table for c in world.strict.mutations)
    result = move(world)
    assert any(nat_table in w and "left alone" in w for w in result.warnings)
    assert _route_of(world, nat_table).get("NatGatewayId") == nat


def test_a_guarded_nat_route_is_put_back_exactly(world):
    """Named tables and expect_current naming the NAT gateway: replaced; the second table
    fails, and the first is put back to the NAT gateway, as a re-read shows."""
    nat, tables = _nat_tables(world, 2)
    world.strict.inject(
        "ReplaceRoute",
        _codes.INVALID_PARAMETER_VALUE,
        when=lambda p: p["RouteTableId"] == tables[1] and "NetworkInterfaceId" in p,
    )
    with pytest.raises(eniops.PartialFailure) as caught:
        move(world, route_tables=tables, expect_current=nat)
    assert caught.value.rolled_back
    for table in tables:
        route = _route_of(world, table)
        assert route.get("NatGatewayId") == nat
        assert "NetworkInterfaceId" not in route
    undo = [c for c in world.strict.mutations if c.params.get("NatGatewayId")]
    assert [c.params["RouteTableId"] for c in undo] == [tables[0]]


def test_only_nat_routes_and_no_guard_is_refused(world):
    """Named tables whose routes all go to a NAT gateway, no guard: not-found, no change."""
    nat, tables = _nat_tables(world, 1)
    with pytest.raises(eniops.NotFound) as caught:
        move(world, route_tables=tables)
    assert caught.value.details["left_alone"] == {tables[0]: nat}
    assert world.strict.mutations == []


def test_create_where_none_exists_and_the_duplicate_race(world):
    """UNASSOCIATED creates the route in the named table; if one appeared meanwhile EC2
    refuses the create, and eniops says Conflict, with the table untouched."""
    with world.strict.internal() as client:
        table = client.create_route_table(VpcId=world.lab.vpc_id)["RouteTable"]["RouteTableId"]
    result = eniops.move_route(
        "192.168.100.20/32",
        to_instance=world.lab.standby,
        route_tables=[table],
        expect_current=eniops.UNASSOCIATED,
        ec2=world.client,
    )
    assert [s.action for s in result.steps] == ["ec2:CreateRoute"]

    raced: list[bool] = []

    def someone_creates_it_first(model, context, **_):
        params = context.get("strict_params", {})
        if model.name == "CreateRoute" and not raced:
            raced.append(True)
            with world.strict.internal() as client:
                client.create_route(
                    RouteTableId=params["RouteTableId"],
                    DestinationCidrBlock=params["DestinationCidrBlock"],
                    NetworkInterfaceId=world.primary_eni(world.lab.far),
                )

    world.client.meta.events.register_first("before-call.ec2", someone_creates_it_first)
    with pytest.raises(eniops.Conflict):
        eniops.move_route(
            "192.168.100.30/32",
            to_instance=world.lab.standby,
            route_tables=[table],
            expect_current=eniops.UNASSOCIATED,
            ec2=world.client,
        )


def test_guard_and_source_dest_check(world):
    """require_tag on the tables and the target; a target that checks source/destination."""
    with pytest.raises(eniops.PreconditionFailed) as caught:
        move(world, require_tag="team=network")
    assert caught.value.reason == "tag-guard"
    assert move(world, require_tag="eniops:lab=true").changed
    world.client.modify_network_interface_attribute(
        NetworkInterfaceId=world.primary_eni(world.lab.active), SourceDestCheck={"Value": True}
    )
    with pytest.raises(eniops.PreconditionFailed) as caught:
        move(world, to_instance=world.lab.active)
    assert caught.value.reason == "source-dest-check"


def test_plan_and_dry_run_change_nothing(world):
    """plan lists the replaces; dry-run asks EC2 with DryRun (moto alone would replace)."""
    before = targets(world)
    planned = move(world, mode="plan")
    assert [s.status for s in planned.steps] == ["planned", "planned"]
    move(world, mode="dry-run")
    assert [c.dry_run for c in world.strict.mutations] == [True, True]
    assert targets(world) == before


def test_across_zones(world):
    """The overlay IP moves to 'far' in the other zone (routes are VPC-wide)."""
    assert move(world, to_instance=world.lab.far).changed
    assert set(targets(world).values()) == {world.primary_eni(world.lab.far)}


def test_role_arn_reaches_another_account(monkeypatch):
    """With role_arn eniops works in the role's account (moto's STS gives it its own EC2):
    resources there are found, and those of the caller's account are not."""
    for key in ("AWS_PROFILE",):
        monkeypatch.delenv(key, raising=False)
    with mock_aws(), short_waits():
        home = boto3.client("ec2", region_name="us-east-1")
        home_lab = build_lab(home)
        role = "arn:aws:iam::222222222222:role/eniops-failover"
        other = client_in_account(role)
        other_lab = build_lab(other)
        StrictEc2(other)
        result = eniops.remap_eip(
            other_lab.eip, to_instance=other_lab.standby, role_arn=role, region="us-east-1"
        )
        assert result.changed
        with pytest.raises(eniops.NotFound):
            eniops.remap_eip(
                home_lab.eip, to_instance=home_lab.standby, role_arn=role, region="us-east-1"
            )
        with pytest.raises(eniops.InvalidInput):
            eniops.remap_eip(home_lab.eip, to_instance=home_lab.standby, role_arn=role, ec2=home)


# -- IPv6 destinations ---------------------------------------------------------------------

V6 = "2001:db8::10/128"


def v6_targets(world, destination=V6):
    found = world.client.describe_route_tables(RouteTableIds=list(world.lab.route_tables))
    return {
        table["RouteTableId"]: next(
            (
                r.get("NetworkInterfaceId")
                for r in table["Routes"]
                if r.get("DestinationIpv6CidrBlock") == destination
            ),
            None,
        )
        for table in found["RouteTables"]
    }


def v6_routes(world, on):
    with world.strict.internal() as client:
        for table in world.lab.route_tables:
            client.create_route(
                RouteTableId=table, DestinationIpv6CidrBlock=V6, NetworkInterfaceId=on
            )


def test_an_ipv6_route_moves_in_every_table_by_its_own_parameter(world):
    """A bare IPv6 address is the /128; every table that routes it is replaced with
    DestinationIpv6CidrBlock, found by the IPv6 route filter, and verified."""
    v6_routes(world, world.primary_eni(world.lab.active))
    world.strict.reset_calls()
    result = eniops.move_route(
        "2001:db8::10",
        to_instance=world.lab.standby,
        expect_current=world.lab.active,
        ec2=world.client,
    )
    standby = world.primary_eni(world.lab.standby)
    assert set(v6_targets(world).values()) == {standby}
    assert set(targets(world).values()) == {world.primary_eni(world.lab.active)}  # IPv4 stays
    replaces = [c.params for c in world.strict.calls if c.operation == "ReplaceRoute"]
    assert [p.get("DestinationIpv6CidrBlock") for p in replaces] == [V6, V6]
    assert all("DestinationCidrBlock" not in p for p in replaces)
    (read,) = [c for c in world.strict.calls if c.operation == "DescribeRouteTables"][:1]
    assert {"Name": "route.destination-ipv6-cidr-block", "Values": [V6]} in read.params["Filters"]
    assert result.after["routes"]
    world.strict.reset_calls()
    assert not eniops.move_route(V6, to_instance=world.lab.standby, ec2=world.client).changed
    assert world.strict.mutations == []


def test_an_ipv6_route_failing_halfway_is_put_back(world):
    v6_routes(world, world.primary_eni(world.lab.active))
    before = v6_targets(world)
    fail_the_second_table(world)
    with pytest.raises(eniops.PartialFailure) as caught:
        eniops.move_route(V6, to_instance=world.lab.standby, ec2=world.client)
    assert caught.value.rolled_back
    assert v6_targets(world) == before
    undo = [c.params for c in world.strict.calls if c.operation == "ReplaceRoute"][-1]
    assert undo["DestinationIpv6CidrBlock"] == V6


def test_an_ipv6_route_created_where_named_and_plans_change_nothing(world):
    with world.strict.internal() as client:
        table = client.create_route_table(VpcId=world.lab.vpc_id)["RouteTable"]["RouteTableId"]
    kwargs = {
        "to_instance": world.lab.standby,
        "route_tables": [table],
        "expect_current": eniops.UNASSOCIATED,
        "ec2": world.client,
    }
    for mode in ("plan", "dry-run"):
        eniops.move_route("2001:db8::20", mode=mode, **kwargs)
    assert all(c.dry_run for c in world.strict.mutations)
    result = eniops.move_route("2001:db8::20", **kwargs)
    assert [s.action for s in result.steps] == ["ec2:CreateRoute"]
    routes = world.client.describe_route_tables(RouteTableIds=[table])["RouteTables"][0]["Routes"]
    assert {"DestinationIpv6CidrBlock": "2001:db8::20/128"}.items() <= next(
        r for r in routes if r.get("DestinationIpv6CidrBlock")
    ).items()


@pytest.mark.parametrize("bad", ["2001:db8::1/64", "2001:db8::zz", "::1/129", ":"])
def test_a_malformed_ipv6_destination_asks_nothing(world, bad):
    with pytest.raises(eniops.InvalidInput) as caught:
        eniops.move_route(bad, to_instance=world.lab.standby, ec2=world.client)
    assert "2001:db8::10/128" in str(caught.value)
    assert world.strict.calls == []
