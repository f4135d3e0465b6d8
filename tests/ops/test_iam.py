"""What each operation declares (its IAM actions) is what it calls, and the policy it makes."""

from __future__ import annotations

import pytest

import eniops
from eniops import _registry
from eniops.testing import add_zone_pairs


def _evacuate(w):
    """A zone evacuated, its pairs read from their tags (one across the zones)."""
    with w.strict.internal() as client:
        add_zone_pairs(client, w.lab, 1)
    w.strict.reset_calls()
    return eniops.evacuate(w.lab.zone_a, ec2=w.client)


RUNS = {
    "remap_eip": lambda w: eniops.remap_eip(w.lab.eip, to_instance=w.lab.standby, ec2=w.client),
    "move_eni": lambda w: eniops.move_eni(
        w.lab.floating_eni, to_instance=w.lab.standby, ec2=w.client
    ),
    "attach_eni": lambda w: (
        eniops.detach_eni(w.lab.floating_eni, ec2=w.client),
        w.strict.reset_calls(),
        eniops.attach_eni(w.lab.floating_eni, instance=w.lab.standby, ec2=w.client),
    ),
    "detach_eni": lambda w: eniops.detach_eni(w.lab.floating_eni, ec2=w.client),
    "add_secondary_ips": lambda w: eniops.add_secondary_ips(
        w.lab.floating_eni, count=1, ec2=w.client
    ),
    "remove_secondary_ips": lambda w: eniops.remove_secondary_ips(
        w.lab.active, ips=["10.0.1.99"], ec2=w.client
    ),
    "failover_instance": lambda w: eniops.failover_instance(
        w.lab.active, to_instance=w.lab.standby, ec2=w.client
    ),
    "move_route": lambda w: eniops.move_route(
        w.lab.overlay, to_instance=w.lab.standby, ec2=w.client
    ),
    "release_eip": lambda w: eniops.release_eip(
        w.lab.eip, expect_current=w.lab.active, ec2=w.client
    ),
    "check_failover": lambda w: eniops.check_failover(
        w.lab.active, to_instance=w.lab.standby, ips=["10.0.1.250"], ec2=w.client
    ),
    "evacuate": _evacuate,
    "describe": lambda w: [
        eniops.describe(x, ec2=w.client) for x in (w.lab.active, w.lab.floating_eni, w.lab.eip)
    ],
}


@pytest.mark.parametrize("operation", sorted(_registry.BY_NAME))
def test_every_call_is_declared(world, operation):
    """Each operation calls only EC2 actions its IAM permissions declare."""
    RUNS[operation](world)
    called = {f"ec2:{c.operation}" for c in world.strict.calls}
    assert called, "the operation made no call"
    declared = set(_registry.BY_NAME[operation].actions)
    assert called <= declared, called - declared


def test_the_ipv6_calls_are_declared(world):
    """Adding, moving (intent, unassign, assign) and removing IPv6 addresses."""
    from eniops.testing import dual_stack

    with world.strict.internal() as client:
        ranges = dual_stack(client, world.lab)
        ip = ranges[world.lab.subnet_a].replace("::/64", "::50")
        client.assign_ipv6_addresses(
            NetworkInterfaceId=world.primary_eni(world.lab.active), Ipv6Addresses=[ip]
        )
    world.strict.reset_calls()
    eniops.add_secondary_ips(
        world.lab.standby,
        ips=[ip],
        allow_reassignment=True,
        expect_current=world.lab.active,
        ec2=world.client,
    )
    moved = {f"ec2:{c.operation}" for c in world.strict.calls}
    assert {"ec2:UnassignIpv6Addresses", "ec2:AssignIpv6Addresses"} <= moved
    assert moved <= set(_registry.BY_NAME["add_secondary_ips"].actions)
    # A failover's floating IPv6 address moves by the same two calls, declared for it too.
    world.strict.reset_calls()
    eniops.failover_instance(
        world.lab.standby, to_instance=world.lab.active, ips=[ip], ec2=world.client
    )
    failed_over = {f"ec2:{c.operation}" for c in world.strict.calls}
    assert {"ec2:UnassignIpv6Addresses", "ec2:AssignIpv6Addresses"} <= failed_over
    assert failed_over <= set(_registry.BY_NAME["failover_instance"].actions)
    world.strict.reset_calls()
    eniops.remove_secondary_ips(world.lab.active, ips=[ip], ec2=world.client)  # failed back
    removed = {f"ec2:{c.operation}" for c in world.strict.calls}
    assert "ec2:UnassignIpv6Addresses" in removed
    assert removed <= set(_registry.BY_NAME["remove_secondary_ips"].actions)


def test_iam_policy_scopes_changes_by_tag():
    """The generated policy splits reads from changes and scopes changes by the tag."""
    policy = _registry.iam_policy(["eip-remap"], require_tag="team=payments")
    read, change, tags = policy["Statement"]
    assert change["Action"] == ["ec2:AssociateAddress"]
    assert change["Condition"] == {"StringEquals": {"aws:ResourceTag/team": "payments"}}
    assert tags["Action"] == ["ec2:CreateTags", "ec2:DeleteTags"]
    assert tags["Condition"] == {
        "StringEquals": {"aws:ResourceTag/team": "payments"},
        "ForAllValues:StringLike": {"aws:TagKeys": ["eniops:*"]},
    }
    assert "ec2:AssociateAddress" not in read["Action"]
    with pytest.raises(eniops.InvalidInput):
        _registry.iam_policy(["nope"])


def test_a_zones_check_calls_what_check_failover_declares(world):
    """`eniops check --zone` (the pairs and the zones read, then each pair's check) calls
    only what `check_failover` declares, so `iam-policy check` covers it."""
    from eniops._ops.evacuate import check_zone

    with world.strict.internal() as client:
        add_zone_pairs(client, world.lab, 1)
    world.strict.reset_calls()
    checked = check_zone(world.lab.zone_a, ec2=world.client)
    assert len(checked.pairs) == 1
    called = {f"ec2:{c.operation}" for c in world.strict.calls}
    assert "ec2:DescribeAvailabilityZones" in called
    assert called <= set(_registry.BY_NAME["check_failover"].actions), called
