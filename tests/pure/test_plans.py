"""The planners as pure functions: state in, a plan (or a refusal) out. No AWS, no moto."""

from __future__ import annotations

import pytest
from state import BIG, LIMITS, address, eni, instance, table

import eniops
from eniops._core._inputs import UNASSOCIATED, EipRef, TagGuard
from eniops._ops import failover, remap, route
from eniops._ops._operation import Target
from eniops._ops.eni import MoveRequest, Placement, PlaceState, plan_move_eni
from eniops._plan import Change, Ref, Wait
from eniops._plan._expect import EniAttached, EniDetached
from eniops._state._tags import MOVE_TAG, MoveIntent

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
        "target": Target(B),
        "private_ip": None,
        "expected": A,
        "replace_eip": False,
        **changes,
    }
    return remap.RemapRequest(**fields)


def test_remap_is_one_associate_by_eni_guarded_by_the_holder():
    """One AssociateAddress by ENI and private IP, AllowReassociation sent, guard on A (by
    instance or by its ENI, as EC2 may show either), confirmed by a later read."""
    plan = remap.plan_remap_eip(remap_request(), remap_state())
    (chain,) = plan.chains
    (change,) = chain.items
    assert change.params == {
        "AllocationId": "eipalloc-0000000a",
        "NetworkInterfaceId": "eni-0000000b",
        "PrivateIpAddress": "10.0.1.20",
        "AllowReassociation": True,
    }
    assert change.guard.holders == frozenset({A, "eni-0000000a"})
    assert change.check == "confirm"
    (holder,) = change.riders  # where it now is, beside the check
    assert holder.params == {
        "Resources": ["eipalloc-0000000a"],
        "Tags": [{"Key": "eniops:holder", "Value": f"{B} ip=10.0.1.20"}],
    }


def test_remap_unassociated_asks_ec2_to_refuse_a_taken_address():
    """expect_current=UNASSOCIATED on a free address: AllowReassociation=False."""
    state = remap_state()
    free = address("eipalloc-0000000a")
    state = remap.RemapState(free, (free,), state.instance, state.eni)
    plan = remap.plan_remap_eip(remap_request(expected=UNASSOCIATED), state)
    assert plan.chains[0].items[0].params["AllowReassociation"] is False


def test_remap_already_in_place_is_an_empty_plan():
    """Address on the target ENI and IP: nothing to do, whatever expect_current says."""
    state = remap_state()
    there = address("eipalloc-0000000a", on="eni-0000000b", ip="10.0.1.20", instance=B)
    state = remap.RemapState(there, (there,), state.instance, state.eni)
    assert remap.plan_remap_eip(remap_request(), state).empty


def test_remap_target_has_eip_and_replace_eip():
    """Another EIP on the target IP is refused; replace_eip names it instead."""
    other = address("eipalloc-0000000b", on="eni-0000000b", ip="10.0.1.20", instance=B)
    assert reason_of(lambda: remap.plan_remap_eip(remap_request(), remap_state(other))) == (
        "target-has-eip"
    )
    plan = remap.plan_remap_eip(remap_request(replace_eip=True), remap_state(other))
    assert plan.before["displaced"]["allocation_id"] == "eipalloc-0000000b"
    assert any("disassociated" in w for w in plan.warnings)
    # An EIP on another IP of the target ENI is no obstacle.
    elsewhere = address("eipalloc-0000000b", on="eni-0000000b", ip="10.0.1.21", instance=B)
    assert not remap.plan_remap_eip(remap_request(), remap_state(elsewhere)).empty


# -- move_eni: fresh and resumed ------------------------------------------------------------


def move_state(moving, target=None):
    return PlaceState(moving, target or instance(eni("eni-0000000b", index=0, instance=B)), LIMITS)


def move_request(expected=None):
    return MoveRequest(FLOAT, B, expected, Placement())


def test_move_writes_the_intent_then_detaches_then_attaches():
    """Intent tag, detach by AttachmentId, attach at the lowest free index; DOT restored."""
    source = eni(FLOAT, index=1, instance=A, subnet="subnet-0000000c", dot=True)
    plan = plan_move_eni(move_request(A), move_state(source))
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
    assert chain.changes[-1].params == {"Resources": [FLOAT], "Tags": [{"Key": MOVE_TAG}]}


def test_an_interrupted_move_resumes_at_its_recorded_index():
    """Available with an intent from A: held by A; attach at the recorded index, DOT back."""
    tags = {MOVE_TAG: MoveIntent(A, B, 2, True).format()}
    detached = eni(FLOAT, subnet="subnet-0000000c", tags=tags)
    plan = plan_move_eni(move_request(A), move_state(detached))
    (chain,) = plan.chains
    assert actions(chain) == ["AttachNetworkInterface", "ModifyNetworkInterfaceAttribute"]
    assert chain.items[0].params["DeviceIndex"] == 2


def test_a_move_interrupted_while_detaching_waits_then_attaches():
    """Detaching with an intent: wait for the detach, then attach (no second detach)."""
    tags = {MOVE_TAG: MoveIntent(A, B, 1, False).format()}
    leaving = eni(FLOAT, index=1, instance=A, status="detaching", subnet="subnet-0c", tags=tags)
    plan = plan_move_eni(move_request(A), move_state(leaving))
    (chain,) = plan.chains
    assert actions(chain) == ["wait", "AttachNetworkInterface"]
    assert isinstance(chain.items[0].expect, EniDetached)


def test_a_move_interrupted_while_attaching_is_finished():
    """Attached on the target with the intent left: no detach or attach; the intent clears."""
    tags = {MOVE_TAG: MoveIntent(A, B, 1, True).format()}
    arriving = eni(FLOAT, index=1, instance=B, status="attaching", subnet="subnet-0c", tags=tags)
    plan = plan_move_eni(move_request(A), move_state(arriving))
    (chain,) = plan.chains
    assert actions(chain) == ["wait", "ModifyNetworkInterfaceAttribute"]
    assert isinstance(chain.items[0].expect, EniAttached)
    assert chain.changes[-1].params == {"Resources": [FLOAT], "Tags": [{"Key": MOVE_TAG}]}


def test_moving_back_to_the_instance_it_is_detaching_from():
    """Still detaching from B and moved to B: wait for the detach, attach again."""
    leaving = eni(FLOAT, index=1, instance=B, status="detaching", subnet="subnet-0c")
    target = instance(eni("eni-0000000b", index=0, instance=B), leaving)
    plan = plan_move_eni(move_request(), move_state(leaving, target))
    (chain,) = plan.chains
    assert actions(chain) == ["CreateTags", "wait", "AttachNetworkInterface"]
    assert chain.items[2].params["DeviceIndex"] == 1  # its own index is free once it leaves


def test_available_without_intent_is_held_by_nobody():
    """expect_current=A on an available ENI without an intent is a conflict."""
    free = eni(FLOAT, subnet="subnet-0c")
    with pytest.raises(eniops.Conflict):
        plan_move_eni(move_request(A), move_state(free))


# -- failover: every step checked on one read ----------------------------------------------


def plan_failover(state, guard=None):
    return failover.plan_failover_instance(failover.FailoverRequest(A, B, guard), state)


def failover_state(*source_enis, target_enis=(), addresses=(), tables=(), limits=LIMITS, **kw):
    primary = eni("eni-0000000a", index=0, instance=A, ips=("10.0.1.10",))
    target_primary = eni(
        "eni-0000000b", index=0, instance=B, ips=("10.0.1.20",), source_dest_check=False
    )
    source = instance(primary, *source_enis, iid=A)
    target = instance(target_primary, *target_enis, iid=B, **kw)
    return failover.FailoverState(source, target, tuple(addresses), (), tuple(tables), limits)


def secondary(n, index, **kw):
    kw.setdefault("instance", A)
    return eni(f"eni-0000{n:04x}", index=index, subnet=f"subnet-000000{n:02x}", **kw)


def test_failover_checks_all_slots_at_once():
    """Two ENIs to move and one free slot: refused before anything, not halfway."""
    state = failover_state(secondary(1, 1), secondary(2, 2), target_enis=(secondary(3, 1),))
    assert reason_of(lambda: plan_failover(state)) == "attachment-limit"


def test_failover_indexes_follow_the_source_order():
    """Moving ENIs take the target's lowest free indexes in their source order."""
    state = failover_state(secondary(2, 3), secondary(1, 1), limits=BIG, kind="m5.24xlarge")
    plan = plan_failover(state)
    attaches = [
        c.params for chain in plan.chains for c in chain.changes if c.action.startswith("Attach")
    ]
    assert [(p["NetworkInterfaceId"], p["DeviceIndex"]) for p in attaches] == [
        ("eni-00000001", 1),
        ("eni-00000002", 2),
    ]


def test_a_failovers_attach_may_fall_back_on_the_free_indexes_no_other_eni_takes():
    """Each attach of a failover carries the same attach at the other free indexes (lowest
    first, none another ENI of the plan takes), each with its holder tag at that index: the
    fallback when EC2 finds its index taken by a concurrent attach."""
    state = failover_state(secondary(2, 3), secondary(1, 1), limits=BIG, kind="m5.24xlarge")
    plan = plan_failover(state)
    attaches = [c for chain in plan.chains for c in chain.changes if c.action.startswith("Attach")]
    first = [c.params["DeviceIndex"] for c in attaches[0].elsewhere]
    assert first == list(range(3, 15))
    for other in attaches[0].elsewhere:
        (holder,) = [r for r in other.riders if r.params["Tags"][0]["Key"] == "eniops:holder"]
        assert holder.params["Tags"][0]["Value"] == f"{B} index={other.params['DeviceIndex']}"


def test_an_index_asked_for_has_no_fallback():
    """move_eni with device_index given: that index or nothing (no fallback)."""
    source = eni(FLOAT, index=1, instance=A, subnet="subnet-0000000c")
    asked = MoveRequest(FLOAT, B, A, Placement(device_index=2))
    (chain,) = plan_move_eni(asked, move_state(source)).chains
    (attach,) = [c for c in chain.changes if c.action == "AttachNetworkInterface"]
    assert attach.elsewhere == ()
    (picked,) = plan_move_eni(move_request(A), move_state(source)).chains
    (attach,) = [c for c in picked.changes if c.action == "AttachNetworkInterface"]
    assert [c.params["DeviceIndex"] for c in attach.elsewhere] == [2]


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
    assert reason_of(lambda: plan_failover(state)) == reason


def test_a_pending_standby_takes_elastic_ips_alone():
    """Only an Elastic IP to move: a pending standby is fine (EC2 accepts it)."""
    plan = plan_failover(failover_state(addresses=[_on_source()], state="pending"))
    assert [c.operation for c in plan.chains] == ["remap_eip"]


def test_failover_target_has_eip():
    """The standby's primary IP carries its own Elastic IP: refused."""
    own = address("eipalloc-0000000b", on="eni-0000000b", ip="10.0.1.20", instance=B)
    state = failover_state(addresses=[_on_source(), own])
    assert reason_of(lambda: plan_failover(state)) == "target-has-eip"


def test_failover_tag_guard_covers_every_resource():
    """require_tag on an untagged ENI refuses the whole failover."""
    state = failover_state(secondary(1, 1), addresses=[_on_source(tags={"team": "db"})])
    guard = TagGuard("team", "db")
    assert reason_of(lambda: plan_failover(guard=guard, state=state)) == "tag-guard"


def test_failover_picks_up_what_termination_left_behind():
    """An unassociated EIP and an available ENI tagged eniops:holder=A move to B."""
    left = address("eipalloc-0000000c", tags={"eniops:holder": A})
    free = eni("eni-0000f00d", subnet="subnet-0000000e", tags={"eniops:holder": A})
    state = failover_state(addresses=[left])
    state = failover.FailoverState(
        state.source, state.target, state.addresses, (free,), (), state.limits
    )
    plan = plan_failover(state)
    assert sorted(c.operation for c in plan.chains) == ["move_eni", "remap_eip"]
    remap_change = next(c for c in plan.chains if c.operation == "remap_eip").items[0]
    assert remap_change.params["AllowReassociation"] is False  # only while still unassociated


def test_failover_moves_routes_to_the_source_primary_only():
    """Routes to A's primary ENI move to B's; a route to a secondary ENI follows that ENI."""
    routes = table(
        "rtb-0000000a", ("192.168.100.10/32", "eni-0000000a"), ("192.168.100.11/32", "eni-00000001")
    )
    plan = plan_failover(failover_state(secondary(1, 1), tables=[routes]))
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
    assert reason_of(lambda: plan_failover(state)) == "source-dest-check"


def _on_source(**kw):
    return address("eipalloc-0000000a", on="eni-0000000a", ip="10.0.1.10", instance=A, **kw)


# -- failover: tags are hints, never orders -------------------------------------------------

HOLDER = "eniops:holder"
SERVICE = "eipalloc-0000000a"


def with_tagged(state, *enis, addresses=()):
    """`state` with ENIs found by eniops' tags and more addresses in the account."""
    return failover.FailoverState(
        state.source,
        state.target,
        (*state.addresses, *addresses),
        tuple(enis),
        state.tables,
        state.limits,
    )


def chain_of(plan, operation):
    return [c for c in plan.chains if c.operation == operation]


def spare(tag, public="198.51.100.1", allocation="eipalloc-000000f0"):
    """An unassociated address whose public IP sorts before the service address's."""
    return address(allocation, tags={HOLDER: tag}, public=public)


@pytest.mark.parametrize(
    "tag",
    [f"{A} ip=10.0.1.99", f"{A} ip=10.0.1.10", A],
    ids=["recorded-elsewhere", "stale-on-the-primary-ip", "bare-old-tag"],
)
def test_a_spare_address_tagged_for_the_source_never_takes_the_service_address_place(tag):
    """The address the source carries on its primary IP goes to the target's primary IP; an
    unassociated one tagged for the source (which sorts first) stays, named in warnings."""
    state = failover_state(addresses=[_on_source(), spare(tag)])
    plan = plan_failover(state)
    (remap_chain,) = chain_of(plan, "remap_eip")
    assert remap_chain.items[0].params["AllocationId"] == SERVICE
    assert any("198.51.100.1 was left where it is" in w for w in plan.warnings)


def test_a_torn_down_source_gets_back_the_address_recorded_on_its_primary_ip():
    """Nothing attached any more (EC2's teardown): the address whose tag records the
    source's primary IP (as EC2 still reports it) goes to the target's primary IP; one
    recorded on another IP stays."""
    state = failover_state(addresses=[spare(f"{A} ip=10.0.1.77")])
    torn = instance(iid=A, state="terminated", private_ip="10.0.1.10")
    service = address(SERVICE, tags={HOLDER: f"{A} ip=10.0.1.10"}, public="203.0.113.10")
    state = failover.FailoverState(torn, state.target, (*state.addresses, service), (), (), LIMITS)
    plan = plan_failover(state)
    (remap_chain,) = chain_of(plan, "remap_eip")
    assert remap_chain.items[0].params["AllocationId"] == SERVICE
    assert remap_chain.items[0].params["AllowReassociation"] is False  # only while free
    assert any("198.51.100.1 was left where it is" in w for w in plan.warnings)


def test_two_addresses_claiming_the_primary_ip_are_both_left():
    """Two unassociated addresses both recorded on the source's primary IP: which one was
    there cannot be told, so neither moves, and the warnings say why."""
    state = failover_state(
        addresses=[
            spare(f"{A} ip=10.0.1.10"),
            spare(f"{A} ip=10.0.1.10", public="198.51.100.2", allocation="eipalloc-000000f1"),
        ]
    )
    plan = plan_failover(state)
    assert plan.empty
    assert sum("cannot be told" in w for w in plan.warnings) == 2


def test_a_tag_found_address_on_a_secondary_ip_moves_with_that_ip():
    """Recorded on a secondary IP still on the source: that IP moves to the target, then the
    address is associated with it there (only while still unassociated)."""
    primary = eni("eni-0000000a", index=0, instance=A, ips=("10.0.1.10", "10.0.1.30"))
    state = failover_state(addresses=[spare(f"{A} ip=10.0.1.30")])
    state = failover.FailoverState(
        instance(primary, iid=A), state.target, state.addresses, (), (), LIMITS
    )
    (chain,) = plan_failover(state).chains
    assert actions(chain) == ["AssignPrivateIpAddresses", "AssociateAddress"]
    associate = chain.items[1].params
    assert associate["PrivateIpAddress"] == "10.0.1.30"
    assert associate["AllowReassociation"] is False


@pytest.mark.parametrize(
    "stray",
    [
        eni(FLOAT, az="us-east-1b", subnet="subnet-0000000e", tags={HOLDER: A}),
        eni(
            FLOAT,
            az="us-east-1b",
            subnet="subnet-0000000e",
            tags={MOVE_TAG: MoveIntent(A, B, 1, False).format()},
        ),
        eni(FLOAT, vpc="vpc-0000ffff", subnet="subnet-0000000e", tags={HOLDER: A}),
    ],
    ids=["holder-tag-other-zone", "move-intent-other-zone", "holder-tag-other-vpc"],
)
def test_a_tagged_eni_that_cannot_have_been_on_the_source_never_blocks_the_failover(stray):
    """A free ENI tagged for the source in another zone or VPC stays (named in warnings);
    everything the source carries moves."""
    state = with_tagged(failover_state(secondary(1, 1), addresses=[_on_source()]), stray)
    plan = plan_failover(state)
    assert sorted(c.operation for c in plan.chains) == ["move_eni", "remap_eip"]
    (moved,) = chain_of(plan, "move_eni")
    assert moved.context["eni"] == "eni-00000001"
    assert any(f"{FLOAT} was left where it is" in w for w in plan.warnings)


def test_a_stray_tag_under_require_tag_is_left_not_refused():
    """require_tag: the carried resources carry the tag; a free ENI tagged for the source
    that lacks it stays, with a warning, instead of refusing the whole failover."""
    guard = TagGuard("env", "prod")
    tagged = {"env": "prod"}
    state = failover_state(
        secondary(1, 1, tags=tagged), addresses=[_on_source(tags=tagged)], limits=BIG
    )
    stray = eni(FLOAT, subnet="subnet-0000000e", tags={HOLDER: A})
    plan = plan_failover(guard=guard, state=with_tagged(state, stray))
    assert sorted(c.operation for c in plan.chains) == ["move_eni", "remap_eip"]
    assert any(f"{FLOAT} was left where it is" in w and "env=prod" in w for w in plan.warnings)


def test_a_tag_found_eni_never_takes_a_slot_a_carried_one_needs():
    """One free slot on the target: the carried ENI takes it; the tag-found one stays."""
    state = failover_state(secondary(1, 1), target_enis=(secondary(3, 1, instance=B),))
    stray = eni(FLOAT, subnet="subnet-0000000e", tags={HOLDER: f"{A} index=2"})
    plan = plan_failover(with_tagged(state, stray))
    (moved,) = chain_of(plan, "move_eni")
    assert moved.context["eni"] == "eni-00000001"
    assert any(f"{FLOAT} was left where it is" in w for w in plan.warnings)


@pytest.mark.parametrize("index", [32, 10**30, 0], ids=["32", "10^30", "the-primary-index"])
def test_a_forged_device_index_in_an_intent_is_never_sent(index):
    """An intent recording a device index the target's type does not have: ignored with a
    warning; the ENI takes the lowest free index."""
    forged = eni(
        FLOAT, subnet="subnet-0000000e", tags={MOVE_TAG: MoveIntent(A, B, index, False).format()}
    )
    plan = plan_failover(with_tagged(failover_state(), forged))
    (chain,) = chain_of(plan, "move_eni")
    attach = next(c for c in chain.changes if c.action == "AttachNetworkInterface")
    assert attach.params["DeviceIndex"] == 1
    assert any("is not one t3.large has" in w for w in plan.warnings)


def test_a_forged_intent_on_the_standbys_own_eni_changes_nothing():
    """An intent naming the source on an ENI the standby has at another index than the one
    recorded (not that move's attachment): left alone, DeleteOnTermination untouched."""
    own = secondary(3, 1, instance=B, tags={MOVE_TAG: MoveIntent(A, B, 2, True).format()})
    state = failover_state(target_enis=(own,))
    plan = plan_failover(with_tagged(state, own))
    assert plan.empty
    assert any("eni-00000003 was left where it is" in w for w in plan.warnings)


def test_a_standby_in_another_vpc_is_refused():
    """A standby (from a tag, say) outside the source's VPC: vpc-mismatch, nothing moves."""
    state = failover_state(addresses=[_on_source()], vpc="vpc-0000ffff")
    assert reason_of(lambda: plan_failover(state)) == "vpc-mismatch"


def test_an_unreadable_holder_tag_naming_the_source_is_named():
    """A holder tag that begins with the source's id but does not read is ignored, aloud."""
    garbled = address("eipalloc-000000f0", tags={HOLDER: f"{A} ip=not-an-ip"})
    plan = plan_failover(failover_state(addresses=[_on_source(), garbled]))
    assert len(plan.chains) == 1
    assert any("does not read" in w for w in plan.warnings)


# -- move_route -----------------------------------------------------------------------------

DEST = "192.168.100.10/32"


def route_state(*tables, sdc=False, vpc="vpc-0123abcd"):
    target = eni("eni-0000000b", index=0, instance=B, source_dest_check=sdc, vpc=vpc)
    return route.RouteState(target, instance(target, iid=B), tuple(tables), {})


def route_request(**changes):
    fields = {
        "destination": DEST,
        "target": Target(B),
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
    plan = route.plan_move_route(
        route_request(expected="eni-0000000a"), route_state(one, two, other)
    )
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
    assert (
        reason_of(lambda: route.plan_move_route(route_request(**request_changes), state)) == reason
    )


def test_route_create_in_named_tables_when_unassociated():
    """expect_current=UNASSOCIATED creates the route; its undo deletes it."""
    state = route_state(table("rtb-0000000a"))
    plan = route.plan_move_route(
        route_request(route_tables=("rtb-0000000a",), expected=UNASSOCIATED), state
    )
    (change,) = plan.chains[0].items
    assert change.action == "CreateRoute"
    assert change.undo[0].action == "DeleteRoute"


def test_route_already_there_is_an_empty_plan():
    """Every route already targets the ENI: nothing to do."""
    state = route_state(table("rtb-0000000a", (DEST, "eni-0000000b")))
    assert route.plan_move_route(route_request(), state).empty


NAT = "nat-0000000000000000a"


def test_a_route_to_a_nat_gateway_is_left_alone_without_a_guard():
    """Tables found by the destination: the one routing it to a NAT gateway is left alone
    and named in the warnings; the one routing it to an ENI moves."""
    state = route_state(
        table("rtb-0000000a", (DEST, "eni-0000000a")), table("rtb-0000000c", (DEST, NAT))
    )
    plan = route.plan_move_route(route_request(), state)
    assert [c.context["route_table"] for c in plan.chains] == ["rtb-0000000a"]
    assert any("rtb-0000000c" in w and NAT in w and "left alone" in w for w in plan.warnings)


@pytest.mark.parametrize(
    "request_changes",
    [{}, {"route_tables": ("rtb-0000000c",)}, {"expected": NAT}],
    ids=["found", "named-without-guard", "guard-without-naming"],
)
def test_only_routes_to_other_targets_is_not_found(request_changes):
    """Every route for the destination goes to a NAT gateway, and the move is not both named
    and guarded for it: nothing to move is refused (not-found), saying what was left."""
    state = route_state(table("rtb-0000000c", (DEST, NAT)))
    with pytest.raises(eniops.NotFound) as caught:
        route.plan_move_route(route_request(**request_changes), state)
    assert caught.value.details["left_alone"] == {"rtb-0000000c": NAT}


@pytest.mark.parametrize(
    ("target", "param"),
    [
        (NAT, "NatGatewayId"),
        ("tgw-0000000000000000a", "TransitGatewayId"),
        ("pcx-0000000a", "VpcPeeringConnectionId"),
        ("vgw-0000000a", "GatewayId"),
        ("vpce-0000000000000000a", "VpcEndpointId"),
    ],
    ids=["nat", "transit", "peering", "vpn-gateway", "gwlb-endpoint"],
)
def test_a_named_and_guarded_route_to_another_target_is_put_back_exactly(target, param):
    """Named by route_tables and expect_current: replaced, and its undo sends the target
    back under the parameter its type needs."""
    state = route_state(table("rtb-0000000c", (DEST, target)))
    plan = route.plan_move_route(
        route_request(route_tables=("rtb-0000000c",), expected=target), state
    )
    (change,) = plan.chains[0].items
    assert change.action == "ReplaceRoute"
    assert change.undo[0].params == {
        "RouteTableId": "rtb-0000000c",
        "DestinationCidrBlock": DEST,
        param: target,
    }


def test_the_local_route_is_never_replaced():
    """The VPC's own local route, even named and guarded, is never replaced."""
    state = route_state(table("rtb-0000000c", (DEST, "local")))
    with pytest.raises(eniops.NotFound):
        route.plan_move_route(
            route_request(route_tables=("rtb-0000000c",), expected="local"), state
        )


def test_expect_current_names_a_route_target_only_for_move_route(no_calls):
    """A NAT gateway id guards a route move; to remap_eip it is malformed (no AWS call)."""
    with pytest.raises(eniops.InvalidInput):
        eniops.remap_eip("eipalloc-0000000a", to_instance=B, expect_current=NAT, ec2=no_calls)
    assert no_calls.calls == []


def test_waits_are_data():
    """A chain is inspectable data: waits and changes, with their expectations."""
    tags = {MOVE_TAG: MoveIntent(A, B, 1, False).format()}
    leaving = eni(FLOAT, index=1, instance=A, status="detaching", subnet="subnet-0c", tags=tags)
    (chain,) = plan_move_eni(move_request(), move_state(leaving)).chains
    assert isinstance(chain.items[0], Wait)
    assert chain.items[0].expect.doing() == f"waiting for {FLOAT} to detach from {A}"


def test_an_enis_primary_ipv6_is_read_from_ec2s_flag():
    """IsPrimaryIpv6 marks the primary IPv6 (moto never sets it; EC2 does)."""
    from eniops._state._model import Eni

    eni = Eni.from_api(
        {
            "NetworkInterfaceId": "eni-0123456789abcdef0",
            "PrivateIpAddress": "10.0.1.10",
            "Ipv6Addresses": [
                {"Ipv6Address": "2001:db8:0:1::0010"},
                {"Ipv6Address": "2001:DB8:0:1::20", "IsPrimaryIpv6": True},
            ],
        }
    )
    assert eni.ipv6_addresses == ("2001:db8:0:1::10", "2001:db8:0:1::20")
    assert eni.primary_ipv6 == "2001:db8:0:1::20"
    assert eni.summary()["ipv6_addresses"] == [
        {"address": "2001:db8:0:1::10", "primary": False},
        {"address": "2001:db8:0:1::20", "primary": True},
    ]


def test_an_enis_primary_ipv6_is_never_removed():
    """ip-is-primary for the IPv6 EC2 marks primary; another IPv6 is removable."""
    import pytest

    from eniops import PreconditionFailed
    from eniops._ops import _ip_rules as ip_rules
    from eniops._state._model import Eni

    eni = Eni.from_api(
        {
            "NetworkInterfaceId": "eni-0123456789abcdef0",
            "PrivateIpAddress": "10.0.1.10",
            "Ipv6Addresses": [
                {"Ipv6Address": "2001:db8:0:1::10", "IsPrimaryIpv6": True},
                {"Ipv6Address": "2001:db8:0:1::20"},
            ],
        }
    )
    with pytest.raises(PreconditionFailed) as caught:
        ip_rules.ipv6_to_remove(eni, ["2001:db8:0:1::10"])
    assert caught.value.reason == "ip-is-primary"
    assert ip_rules.ipv6_to_remove(eni, ["2001:db8:0:1::20", "2001:db8:0:1::30"]) == (
        "2001:db8:0:1::20",
    )


def test_a_rider_is_bookkeeping_only():
    """What rides beside a check is eniops' own tag: a change a service sees never does (its
    failure would be a warning, and nothing would wait for it)."""
    tag = Change("CreateTags", {"Resources": ["eni-1"]}, check="settle", role="bookkeeping")
    attach = Change("AttachNetworkInterface", {"NetworkInterfaceId": "eni-1"}, role="goal")
    assert Change("DetachNetworkInterface", {}, riders=(tag,)).calls[1] is tag
    assert Wait(EniDetached("eni-1"), riders=(tag,)).riders == (tag,)
    with pytest.raises(ValueError, match="AttachNetworkInterface"):
        Change("DetachNetworkInterface", {}, riders=(attach,))
    with pytest.raises(ValueError, match="AttachNetworkInterface"):
        Wait(EniDetached("eni-1"), riders=(attach,))
