"""The planners as pure functions: state in, a plan (or a refusal) out. No AWS, no moto."""

from __future__ import annotations

import pytest
from state import BIG, LIMITS, address, eni, instance, table

import eniops
from eniops._inputs import UNASSOCIATED, EipRef, TagGuard
from eniops._model import MOVE_TAG, MoveIntent
from eniops._ops import failover, remap, route
from eniops._ops.eni import EniRequest, EniState, plan_move
from eniops._plan import Change, EniAttached, EniDetached, Ref, Wait

A, B = "i-0000000a", "i-0000000b"
FLOAT = "eni-0000f10a"


def actions(chain):
    return [item.action if isinstance(item, Change) else "wait" for item in chain.items]


def reason_of(call):
    with pytest.raises(eniops.PreconditionFailed) as caught:
        call()
    return caught.value.reason


# -- remap_eip ------------------------------------------------------------------------------


def remap_state(*others, target_ip="10.0.1.20"):
    target_eni = eni("eni-0000000b", index=0, instance=B, ips=(target_ip, "10.0.1.21"))
    moving = address("eipalloc-0000000a", on="eni-0000000a", ip="10.0.1.10", instance=A)
    return remap.RemapState(moving, (moving, *others), instance(target_eni, iid=B), target_eni)


def remap_request(**changes):
    fields = {
        "ref": EipRef(allocation_id="eipalloc-0000000a"),
        "to_instance": B,
        "to_eni": None,
        "private_ip": None,
        "expected": A,
        "replace_eip": False,
        **changes,
    }
    return remap.RemapRequest(**fields)


def test_remap_is_one_associate_by_eni_guarded_by_the_holder():
    """One AssociateAddress by ENI and private IP, AllowReassociation sent, guard on A (by
    instance or by its ENI, as EC2 may show either), confirmed by a later read."""
    plan = remap.plan(remap_state(), remap_request(), None)
    (chain,) = plan.chains
    (change,) = chain.items
    assert change.params == {
        "AllocationId": "eipalloc-0000000a",
        "NetworkInterfaceId": "eni-0000000b",
        "PrivateIpAddress": "10.0.1.20",
        "AllowReassociation": True,
    }
    assert change.guard.holders == frozenset({A, "eni-0000000a"})
    assert change.confirm == (change.expect,)
    assert chain.holders == ((("address", "eipalloc-0000000a"), B),)


def test_remap_unassociated_asks_ec2_to_refuse_a_taken_address():
    """expect_current=UNASSOCIATED on a free address: AllowReassociation=False."""
    state = remap_state()
    free = address("eipalloc-0000000a")
    state = remap.RemapState(free, (free,), state.instance, state.eni)
    plan = remap.plan(state, remap_request(expected=UNASSOCIATED), None)
    assert plan.chains[0].items[0].params["AllowReassociation"] is False


def test_remap_already_in_place_is_an_empty_plan():
    """Address on the target ENI and IP: nothing to do, whatever expect_current says."""
    state = remap_state()
    there = address("eipalloc-0000000a", on="eni-0000000b", ip="10.0.1.20", instance=B)
    state = remap.RemapState(there, (there,), state.instance, state.eni)
    assert remap.plan(state, remap_request(), None).empty


def test_remap_target_has_eip_and_replace_eip():
    """Another EIP on the target IP is refused; replace_eip names it instead."""
    other = address("eipalloc-0000000b", on="eni-0000000b", ip="10.0.1.20", instance=B)
    assert reason_of(lambda: remap.plan(remap_state(other), remap_request(), None)) == (
        "target-has-eip"
    )
    plan = remap.plan(remap_state(other), remap_request(replace_eip=True), None)
    assert plan.before["displaced"]["allocation_id"] == "eipalloc-0000000b"
    assert any("disassociated" in w for w in plan.warnings)
    # An EIP on another IP of the target ENI is no obstacle.
    elsewhere = address("eipalloc-0000000b", on="eni-0000000b", ip="10.0.1.21", instance=B)
    assert not remap.plan(remap_state(elsewhere), remap_request(), None).empty


# -- move_eni: fresh and resumed ------------------------------------------------------------


def move_state(moving, target=None):
    return EniState(moving, target or instance(eni("eni-0000000b", index=0, instance=B)), LIMITS)


def test_move_writes_the_intent_then_detaches_then_attaches():
    """Intent tag, detach by AttachmentId, attach at the lowest free index; DOT restored."""
    source = eni(FLOAT, index=1, instance=A, subnet="subnet-0000000c", dot=True)
    plan = plan_move(move_state(source), EniRequest(FLOAT, target=B, expected=A), None)
    (chain,) = plan.chains
    assert actions(chain) == [
        "CreateTags",
        "DetachNetworkInterface",
        "AttachNetworkInterface",
        "ModifyNetworkInterfaceAttribute",
    ]
    intent = MoveIntent.parse(chain.items[0].params["Tags"][0]["Value"])
    assert intent == MoveIntent(A, B, 1, True)
    assert chain.items[1].params == {"AttachmentId": f"eni-attach-{FLOAT[4:]}"}
    assert chain.items[3].params["Attachment"]["AttachmentId"] == Ref("attachment_id")
    assert chain.clear_intent == FLOAT


def test_an_interrupted_move_resumes_at_its_recorded_index():
    """Available with an intent from A: held by A; attach at the recorded index, DOT back."""
    tags = {MOVE_TAG: MoveIntent(A, B, 2, True).format()}
    detached = eni(FLOAT, subnet="subnet-0000000c", tags=tags)
    plan = plan_move(move_state(detached), EniRequest(FLOAT, target=B, expected=A), None)
    (chain,) = plan.chains
    assert actions(chain) == ["AttachNetworkInterface", "ModifyNetworkInterfaceAttribute"]
    assert chain.items[0].params["DeviceIndex"] == 2


def test_a_move_interrupted_while_detaching_waits_then_attaches():
    """Detaching with an intent: wait for the detach, then attach (no second detach)."""
    tags = {MOVE_TAG: MoveIntent(A, B, 1, False).format()}
    leaving = eni(FLOAT, index=1, instance=A, status="detaching", subnet="subnet-0c", tags=tags)
    plan = plan_move(move_state(leaving), EniRequest(FLOAT, target=B, expected=A), None)
    (chain,) = plan.chains
    assert actions(chain) == ["wait", "AttachNetworkInterface"]
    assert isinstance(chain.items[0].expect, EniDetached)


def test_a_move_interrupted_while_attaching_is_finished():
    """Attached on the target with the intent left: no detach or attach; the intent clears."""
    tags = {MOVE_TAG: MoveIntent(A, B, 1, True).format()}
    arriving = eni(FLOAT, index=1, instance=B, status="attaching", subnet="subnet-0c", tags=tags)
    plan = plan_move(move_state(arriving), EniRequest(FLOAT, target=B, expected=A), None)
    (chain,) = plan.chains
    assert actions(chain) == ["wait", "ModifyNetworkInterfaceAttribute"]
    assert isinstance(chain.items[0].expect, EniAttached)
    assert chain.clear_intent == FLOAT


def test_moving_back_to_the_instance_it_is_detaching_from():
    """Still detaching from B and moved to B: wait for the detach, attach again."""
    leaving = eni(FLOAT, index=1, instance=B, status="detaching", subnet="subnet-0c")
    target = instance(eni("eni-0000000b", index=0, instance=B), leaving)
    plan = plan_move(move_state(leaving, target), EniRequest(FLOAT, target=B), None)
    (chain,) = plan.chains
    assert actions(chain) == ["CreateTags", "wait", "AttachNetworkInterface"]
    assert chain.items[2].params["DeviceIndex"] == 1  # its own index is free once it leaves


def test_available_without_intent_is_held_by_nobody():
    """expect_current=A on an available ENI without an intent is a conflict."""
    free = eni(FLOAT, subnet="subnet-0c")
    with pytest.raises(eniops.Conflict):
        plan_move(move_state(free), EniRequest(FLOAT, target=B, expected=A), None)


# -- failover: every step checked on one read ----------------------------------------------


def failover_state(*source_enis, target_enis=(), addresses=(), tables=(), limits=LIMITS, **kw):
    primary = eni("eni-0000000a", index=0, instance=A, ips=("10.0.1.10",))
    target_primary = eni(
        "eni-0000000b", index=0, instance=B, ips=("10.0.1.20",), source_dest_check=False
    )
    source = instance(primary, *source_enis, iid=A)
    target = instance(target_primary, *target_enis, iid=B, **kw)
    return failover.FailoverState(source, target, tuple(addresses), (), tuple(tables), limits)


def secondary(n, index, **kw):
    return eni(f"eni-0000{n:04x}", index=index, instance=A, subnet=f"subnet-000000{n:02x}", **kw)


def test_failover_checks_all_slots_at_once():
    """Two ENIs to move and one free slot: refused before anything, not halfway."""
    state = failover_state(secondary(1, 1), secondary(2, 2), target_enis=(secondary(3, 1),))
    assert reason_of(lambda: failover.plan(state, None)) == "attachment-limit"


def test_failover_indexes_follow_the_source_order():
    """Moving ENIs take the target's lowest free indexes in their source order."""
    state = failover_state(secondary(2, 3), secondary(1, 1), limits=BIG, kind="m5.24xlarge")
    plan = failover.plan(state, None)
    attaches = [
        c.params for chain in plan.chains for c in chain.changes if c.action.startswith("Attach")
    ]
    assert [(p["NetworkInterfaceId"], p["DeviceIndex"]) for p in attaches] == [
        ("eni-00000001", 1),
        ("eni-00000002", 2),
    ]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"az": "us-east-1b"}, "az-mismatch"),
        ({"state": "pending"}, "instance-state"),
        ({"state": "stopping"}, "instance-state"),
    ],
    ids=["other-az", "pending", "stopping"],
)
def test_failover_refusals_of_the_target(changes, reason):
    """A standby the ENIs cannot go to is refused for the whole failover."""
    state = failover_state(secondary(1, 1), addresses=[_on_source()], **changes)
    assert reason_of(lambda: failover.plan(state, None)) == reason


def test_a_pending_standby_takes_elastic_ips_alone():
    """Only an Elastic IP to move: a pending standby is fine (EC2 accepts it)."""
    plan = failover.plan(failover_state(addresses=[_on_source()], state="pending"), None)
    assert [c.operation for c in plan.chains] == ["remap_eip"]


def test_failover_target_has_eip():
    """The standby's primary IP carries its own Elastic IP: refused."""
    own = address("eipalloc-0000000b", on="eni-0000000b", ip="10.0.1.20", instance=B)
    state = failover_state(addresses=[_on_source(), own])
    assert reason_of(lambda: failover.plan(state, None)) == "target-has-eip"


def test_failover_tag_guard_covers_every_resource():
    """require_tag on an untagged ENI refuses the whole failover."""
    state = failover_state(secondary(1, 1), addresses=[_on_source(tags={"team": "db"})])
    guard = TagGuard("team", "db")
    assert reason_of(lambda: failover.plan(state, guard)) == "tag-guard"


def test_failover_picks_up_what_termination_left_behind():
    """An unassociated EIP and an available ENI tagged eniops:holder=A move to B."""
    left = address("eipalloc-0000000c", tags={"eniops:holder": A})
    free = eni("eni-0000f00d", subnet="subnet-0000000e", tags={"eniops:holder": A})
    state = failover_state(addresses=[left])
    state = failover.FailoverState(
        state.source, state.target, state.addresses, (free,), (), state.limits
    )
    plan = failover.plan(state, None)
    assert sorted(c.operation for c in plan.chains) == ["move_eni", "remap_eip"]
    remap_change = next(c for c in plan.chains if c.operation == "remap_eip").items[0]
    assert remap_change.params["AllowReassociation"] is False  # only while still unassociated


def test_failover_moves_routes_to_the_source_primary_only():
    """Routes to A's primary ENI move to B's; a route to a secondary ENI follows that ENI."""
    routes = table(
        "rtb-0000000a", ("192.168.100.10/32", "eni-0000000a"), ("192.168.100.11/32", "eni-00000001")
    )
    plan = failover.plan(failover_state(secondary(1, 1), tables=[routes]), None)
    moved = [c for c in plan.chains if c.operation == "move_route"]
    assert [c.items[0].params["DestinationCidrBlock"] for c in moved] == ["192.168.100.10/32"]
    assert moved[0].items[0].params["NetworkInterfaceId"] == "eni-0000000b"


def test_failover_routes_need_source_dest_check_off():
    """The standby's primary ENI checks source/destination: the route move is refused."""
    routes = table("rtb-0000000a", ("192.168.100.10/32", "eni-0000000a"))
    state = failover_state(tables=[routes])
    target = state.target
    checking = eni("eni-0000000b", index=0, instance=B, ips=("10.0.1.20",))
    state = failover.FailoverState(
        state.source,
        instance(checking, iid=B, az=target.availability_zone),
        (),
        (),
        (routes,),
        LIMITS,
    )
    assert reason_of(lambda: failover.plan(state, None)) == "source-dest-check"


def _on_source(**kw):
    return address("eipalloc-0000000a", on="eni-0000000a", ip="10.0.1.10", instance=A, **kw)


# -- move_route -----------------------------------------------------------------------------

DEST = "192.168.100.10/32"


def route_state(*tables, sdc=False, vpc="vpc-0123abcd"):
    target = eni("eni-0000000b", index=0, instance=B, source_dest_check=sdc, vpc=vpc)
    return route.RouteState(target, instance(target, iid=B), tuple(tables), {})


def route_request(**changes):
    fields = {
        "destination": DEST,
        "to_instance": B,
        "to_eni": None,
        "route_tables": None,
        "expected": None,
        "rollback": True,
        **changes,
    }
    return route.RouteRequest(**fields)


def test_route_move_replaces_every_table_that_routes_it():
    """One ReplaceRoute per table with the route; a table without it is left alone."""
    one = table("rtb-0000000a", (DEST, "eni-0000000a"))
    two = table("rtb-0000000b", (DEST, "eni-0000000a"))
    other = table("rtb-0000000c", ("10.9.0.0/16", "eni-0000000a"))
    plan = route.plan(route_state(one, two, other), route_request(expected="eni-0000000a"), None)
    assert [c.items[0].action for c in plan.chains] == ["ReplaceRoute", "ReplaceRoute"]
    assert plan.atomic
    undo = plan.chains[0].items[0].undo[0]
    assert undo.params["NetworkInterfaceId"] == "eni-0000000a"
    assert any("operating system" in w for w in plan.warnings)


@pytest.mark.parametrize(
    ("state", "request_changes", "reason"),
    [
        (
            route_state(table("rtb-0000000a", (DEST, "eni-0000000a")), sdc=True),
            {},
            "source-dest-check",
        ),
        (
            route_state(table("rtb-0000000a", (DEST, "eni-0000000a"), vpc="vpc-0000ffff")),
            {"route_tables": ("rtb-0000000a",)},
            "vpc-mismatch",
        ),
        (
            route_state(table("rtb-0000000a", (DEST, "eni-0000000a"))),
            {"expected": "eni-0000dead"},
            "expect-mismatch",
        ),
        (route_state(table("rtb-0000000a")), {}, "not-found"),
        (
            route_state(table("rtb-0000000a", (DEST, "eni-0000000a"))),
            {"route_tables": ("rtb-0000000a",), "expected": UNASSOCIATED},
            "expect-mismatch",
        ),
    ],
    ids=["source-dest-check", "vpc-mismatch", "expect-mismatch", "no-route", "exists-already"],
)
def test_route_move_refusals(state, request_changes, reason):
    """Each refusal of move_route, decided before any change."""
    assert reason_of(lambda: route.plan(state, route_request(**request_changes), None)) == reason


def test_route_create_in_named_tables_when_unassociated():
    """expect_current=UNASSOCIATED creates the route; its undo deletes it."""
    state = route_state(table("rtb-0000000a"))
    plan = route.plan(
        state, route_request(route_tables=("rtb-0000000a",), expected=UNASSOCIATED), None
    )
    (change,) = plan.chains[0].items
    assert change.action == "CreateRoute"
    assert change.undo[0].action == "DeleteRoute"


def test_route_already_there_is_an_empty_plan():
    """Every route already targets the ENI: nothing to do."""
    state = route_state(table("rtb-0000000a", (DEST, "eni-0000000b")))
    assert route.plan(state, route_request(), None).empty


def test_waits_are_data():
    """A chain is inspectable data: waits and changes, with their expectations."""
    tags = {MOVE_TAG: MoveIntent(A, B, 1, False).format()}
    leaving = eni(FLOAT, index=1, instance=A, status="detaching", subnet="subnet-0c", tags=tags)
    (chain,) = plan_move(move_state(leaving), EniRequest(FLOAT, target=B), None).chains
    assert isinstance(chain.items[0], Wait)
    assert chain.items[0].expect.doing() == f"waiting for {FLOAT} to detach from {A}"
