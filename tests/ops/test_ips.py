"""add_secondary_ips and remove_secondary_ips on the strict layer."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from support import deadline_passes_at, tags_of, v6_of

import eniops
from eniops.testing import round_trips


def test_add_by_count_never_reserved_or_used(world):
    """count picks free addresses: not reserved (.0-.3), not the instances' IPs."""
    used = {
        ip for i in (world.lab.active, world.lab.standby) for ip in world.ips(world.primary_eni(i))
    }
    result = eniops.add_secondary_ips(world.lab.standby, count=3, ec2=world.client)
    added = result.after["eni"]["secondary_ips"]
    assert len(added) == 3
    assert not set(added) & (used | {"10.0.1.0", "10.0.1.1", "10.0.1.2", "10.0.1.3"})
    assert set(added) <= set(world.ips(world.primary_eni(world.lab.standby)))
    assert world.strict.mutations[0].params["PrivateIpAddresses"] == added


def test_add_is_additive_and_idempotent(world):
    """Existing IPs stay; IPs already present are skipped; all present is a no-op."""
    eni = world.primary_eni(world.lab.standby)
    eniops.add_secondary_ips(eni, ips=["10.0.1.40"], ec2=world.client)
    result = eniops.add_secondary_ips(eni, ips=["10.0.1.40", "10.0.1.41"], ec2=world.client)
    assert world.strict.mutations[-1].params["PrivateIpAddresses"] == ["10.0.1.41"]
    assert {"10.0.1.40", "10.0.1.41"} <= set(world.ips(eni))
    world.strict.reset_calls()
    again = eniops.add_secondary_ips(eni, ips=["10.0.1.41"], ec2=world.client)
    assert not again.changed
    assert world.strict.mutations == []
    assert result.changed


@pytest.mark.parametrize(
    ("ip", "reason"),
    [("10.0.2.9", "ip-outside-subnet"), ("10.0.1.1", "ip-reserved"), ("10.0.1.255", "ip-reserved")],
)
def test_add_refusals(world, ip, reason):
    """Outside the subnet or reserved: refused before any change."""
    with pytest.raises(eniops.PreconditionFailed) as caught:
        eniops.add_secondary_ips(world.lab.standby, ips=[ip], ec2=world.client)
    assert caught.value.reason == reason
    assert world.strict.mutations == []


def test_ip_limit(world):
    """t3.large allows 12 IPv4 per interface, the primary included."""
    with pytest.raises(eniops.PreconditionFailed) as caught:
        eniops.add_secondary_ips(world.lab.standby, count=12, ec2=world.client)
    assert caught.value.reason == "ip-limit"
    assert eniops.add_secondary_ips(world.lab.standby, count=11, ec2=world.client).changed


def test_ip_in_use_needs_reassignment(world):
    """Another ENI's IP is a conflict; with allow_reassignment and expect_current it moves."""
    active_ip = "10.0.1.60"
    world.client.assign_private_ip_addresses(
        NetworkInterfaceId=world.primary_eni(world.lab.active), PrivateIpAddresses=[active_ip]
    )
    with pytest.raises(eniops.Conflict) as caught:
        eniops.add_secondary_ips(world.lab.standby, ips=[active_ip], ec2=world.client)
    assert caught.value.reason == "ip-in-use"
    with pytest.raises(eniops.Conflict) as caught:
        eniops.add_secondary_ips(
            world.lab.standby,
            ips=[active_ip],
            allow_reassignment=True,
            expect_current=world.lab.far,
            ec2=world.client,
        )
    assert caught.value.reason == "expect-mismatch"
    result = eniops.add_secondary_ips(
        world.lab.standby,
        ips=[active_ip],
        allow_reassignment=True,
        expect_current=world.lab.active,
        ec2=world.client,
    )
    assert result.changed
    assert active_ip in world.ips(world.primary_eni(world.lab.standby))
    assert active_ip not in world.ips(world.primary_eni(world.lab.active))


def test_eip_follows_its_reassigned_ip(world):
    """An Elastic IP on a secondary IP moves with it when the IP is reassigned."""
    vip = "10.0.1.70"
    active_eni = world.primary_eni(world.lab.active)
    world.client.assign_private_ip_addresses(
        NetworkInterfaceId=active_eni, PrivateIpAddresses=[vip]
    )
    eniops.remap_eip(world.lab.eip, to_eni=active_eni, private_ip=vip, ec2=world.client)
    eniops.add_secondary_ips(
        world.lab.standby, ips=[vip], allow_reassignment=True, ec2=world.client
    )
    address = world.address()
    assert address["NetworkInterfaceId"] == world.primary_eni(world.lab.standby)
    assert address["PrivateIpAddress"] == vip


def test_assign_is_polled_until_visible(world):
    """EC2 shows new IPs late: the operation polls until they appear."""
    world.strict.hold("AssignPrivateIpAddresses", polls=3)
    result = eniops.add_secondary_ips(world.lab.standby, ips=["10.0.1.80"], ec2=world.client)
    assert result.changed
    assert world.strict.count("DescribeNetworkInterfaces") >= 4


def test_assign_not_visible_in_time_is_a_timeout(world, monkeypatch):
    """Never success unverified: an assignment that never shows raises OperationTimeout."""
    world.strict.hold("AssignPrivateIpAddresses", polls=10_000)
    deadline_passes_at(world, "AssignPrivateIpAddresses", monkeypatch)
    with pytest.raises(eniops.OperationTimeout) as caught:
        eniops.add_secondary_ips(
            world.lab.standby, ips=["10.0.1.81"], timeout=60.0, ec2=world.client
        )
    assert caught.value.details["adding"] == ["10.0.1.81"], caught.value.message


def test_dry_run_plans_and_warns(world):
    """EC2 has no DryRun for assign: dry-run plans and says so."""
    result = eniops.add_secondary_ips(world.lab.standby, count=1, mode="dry-run", ec2=world.client)
    assert world.strict.mutations == []
    assert any("no DryRun" in w for w in result.warnings)


def test_remove(world):
    """Remove drops a secondary IP; absent IPs are a no-op; primary and EIP IPs are refused."""
    eni = world.primary_eni(world.lab.active)
    world.client.assign_private_ip_addresses(
        NetworkInterfaceId=eni, PrivateIpAddresses=["10.0.1.90", "10.0.1.91"]
    )
    world.strict.hold("UnassignPrivateIpAddresses", polls=2)
    assert eniops.remove_secondary_ips(eni, ips=["10.0.1.90"], ec2=world.client).changed
    assert "10.0.1.90" not in world.ips(eni)
    assert not eniops.remove_secondary_ips(eni, ips=["10.0.1.90"], ec2=world.client).changed
    primary = world.eni(eni)["PrivateIpAddress"]
    with pytest.raises(eniops.PreconditionFailed) as caught:
        eniops.remove_secondary_ips(eni, ips=[primary], ec2=world.client)
    assert caught.value.reason == "ip-is-primary"
    eniops.remap_eip(world.lab.eip, to_eni=eni, private_ip="10.0.1.91", ec2=world.client)
    with pytest.raises(eniops.PreconditionFailed) as caught:
        eniops.remove_secondary_ips(world.lab.active, ips=["10.0.1.91"], ec2=world.client)
    assert caught.value.reason == "ip-has-eip"


# -- IPv6 ----------------------------------------------------------------------------------


def test_ipv4_and_ipv6_in_one_call(world, dual):
    import ipaddress

    """Mixed families: one assign per family, both verified; a re-run changes nothing; the
    IPv6 address is taken in its canonical form."""
    eni = world.primary_eni(world.lab.standby)
    v6 = str(dual[0x10])
    spelled = ipaddress.IPv6Address(v6).exploded.upper()
    result = eniops.add_secondary_ips(eni, ips=["10.0.1.77", spelled], ec2=world.client)
    # one call per family, sent at once
    assert sorted(c.operation for c in world.strict.mutations) == [
        "AssignIpv6Addresses",
        "AssignPrivateIpAddresses",
    ]
    (assign6,) = [c for c in world.strict.mutations if c.operation == "AssignIpv6Addresses"]
    assert assign6.params["Ipv6Addresses"] == [v6]
    assert v6_of(world, eni) == [v6]
    assert "10.0.1.77" in world.ips(eni)
    assert result.after["eni"]["ipv6_addresses"] == [{"address": v6, "primary": False}]
    assert "10.0.1.77" in result.after["eni"]["secondary_ips"]
    world.strict.reset_calls()
    assert not eniops.add_secondary_ips(eni, ips=[v6, "10.0.1.77"], ec2=world.client).changed
    assert world.strict.mutations == []
    removed = eniops.remove_secondary_ips(eni, ips=[v6, "10.0.1.77"], ec2=world.client)
    assert sorted(c.operation for c in world.strict.mutations) == [
        "UnassignIpv6Addresses",
        "UnassignPrivateIpAddresses",
    ]
    assert v6_of(world, eni) == []
    assert removed.after["eni"]["ipv6_addresses"] == []
    world.strict.reset_calls()
    assert not eniops.remove_secondary_ips(eni, ips=[v6], ec2=world.client).changed
    assert world.strict.mutations == []


def test_ipv6_refusals_change_nothing(world, dual):
    """Outside the subnet's IPv6 range, held by another ENI (without allow_reassignment, or
    with expect_current naming someone else), past the type's limit."""
    eni = world.primary_eni(world.lab.standby)
    holder = world.primary_eni(world.lab.active)
    taken = str(dual[0x20])
    with world.strict.internal() as client:
        client.assign_ipv6_addresses(NetworkInterfaceId=holder, Ipv6Addresses=[taken])
    world.strict.reset_calls()
    cases = [
        ({"ips": ["2001:db8::1"]}, "ip-outside-subnet"),
        ({"ips": [taken]}, "ip-in-use"),
        ({"ips": [taken], "allow_reassignment": True, "expect_current": eni}, "expect-mismatch"),
        ({"ips": [str(dual[i]) for i in range(0x100, 0x10D)]}, "ip-limit"),  # 13 > 12
    ]
    for kwargs, reason in cases:
        with pytest.raises(eniops.PreconditionFailed) as caught:
            eniops.add_secondary_ips(eni, ec2=world.client, **kwargs)
        assert caught.value.reason == reason, kwargs
    assert world.strict.mutations == []
    assert v6_of(world, holder) == [taken]
    assert eniops.add_secondary_ips(
        eni, ips=[str(dual[i]) for i in range(0x100, 0x10C)], ec2=world.client
    ).changed


def test_a_subnet_without_ipv6_refuses_it(world):
    with pytest.raises(eniops.PreconditionFailed) as caught:
        eniops.add_secondary_ips(world.lab.standby, ips=["2001:db8::5"], ec2=world.client)
    assert caught.value.reason == "ip-outside-subnet"
    assert "no IPv6 range" in str(caught.value)
    assert world.strict.mutations == []


def test_ipv6_dry_run_plans_and_warns(world, dual):
    result = eniops.add_secondary_ips(
        world.lab.standby, ips=[str(dual[0x30])], mode="dry-run", ec2=world.client
    )
    assert world.strict.mutations == []
    assert any("no DryRun" in w for w in result.warnings)


@pytest.mark.parametrize("bad", ["2001:db8::zz", "2001:db8::/64", "fe80::1%eth0", ":::"])
def test_a_malformed_ipv6_address_asks_nothing(world, bad):
    with pytest.raises(eniops.InvalidInput):
        eniops.add_secondary_ips(world.lab.standby, ips=[bad], ec2=world.client)
    assert world.strict.calls == []


def test_the_strict_layer_refuses_what_ec2_refuses_for_ipv6(world, dual):
    """moto accepts these; EC2 (and so the strict layer) refuses them."""
    eni, other = world.primary_eni(world.lab.standby), world.primary_eni(world.lab.active)
    world.client.assign_ipv6_addresses(NetworkInterfaceId=other, Ipv6Addresses=[str(dual[0x40])])
    for addresses, code in (
        (["2001:db8::1"], "InvalidParameterValue"),
        ([str(dual[0x40])], "InvalidIPAddress.InUse"),
        ([str(dual[i]) for i in range(0x200, 0x20D)], "PrivateIpAddressLimitExceeded"),
    ):
        with pytest.raises(ClientError) as caught:
            world.client.assign_ipv6_addresses(NetworkInterfaceId=eni, Ipv6Addresses=addresses)
        assert caught.value.response["Error"]["Code"] == code
    assert v6_of(world, eni) == []


# -- moving an IPv6 address: unassign, then assign, with the intent -----------------------


def moving(world, dual, index=0x50):
    """An IPv6 address on the active instance's primary ENI, to move to the standby's."""
    source, target = world.primary_eni(world.lab.active), world.primary_eni(world.lab.standby)
    ip = str(dual[index])
    with world.strict.internal() as client:
        client.assign_ipv6_addresses(NetworkInterfaceId=source, Ipv6Addresses=[ip])
    world.strict.reset_calls()
    return source, target, ip


def move6(world, target, ip, expect, **more):
    return eniops.add_secondary_ips(
        target, ips=[ip], allow_reassignment=True, expect_current=expect, ec2=world.client, **more
    )


def test_an_ipv6_address_moves_in_two_steps_with_its_intent(world, dual):
    """The intent on the receiving ENI, the unassign, the assign with the intent's removal
    beside its check; a re-run changes nothing; the plan shows every call."""
    source, target, ip = moving(world, dual)
    planned = move6(world, target, ip, source, mode="plan")
    assert [s.action for s in planned.steps] == [
        "ec2:CreateTags",
        "ec2:UnassignIpv6Addresses",
        "ec2:AssignIpv6Addresses",
        "ec2:DeleteTags",
    ]
    assert world.strict.mutations == []
    result = move6(world, target, ip, world.lab.active)  # the holder's instance guards too
    assert result.changed
    calls = [(c.operation, c.params) for c in world.strict.mutations]
    assert [op for op, _ in calls] == [
        "CreateTags",
        "UnassignIpv6Addresses",
        "AssignIpv6Addresses",
        "DeleteTags",
    ]
    assert calls[0][1]["Tags"] == [{"Key": "eniops:ip-move", "Value": f"from={source} ips={ip}"}]
    assert calls[1][1] == {"NetworkInterfaceId": source, "Ipv6Addresses": [ip]}
    assert v6_of(world, target) == [ip]
    assert v6_of(world, source) == []
    assert "eniops:ip-move" not in tags_of(world, target)
    world.strict.reset_calls()
    assert not move6(world, target, ip, source).changed
    assert world.strict.mutations == []


def test_an_ipv6_move_needs_its_guard(world, dual):
    """Held by another ENI: expect_current is required (InvalidInput), and must name it."""
    source, target, ip = moving(world, dual)
    with pytest.raises(eniops.InvalidInput):
        eniops.add_secondary_ips(target, ips=[ip], allow_reassignment=True, ec2=world.client)
    with pytest.raises(eniops.Conflict) as caught:
        move6(world, target, ip, world.lab.far)
    assert caught.value.reason == "expect-mismatch"
    assert world.strict.mutations == []
    assert v6_of(world, source) == [ip]


def test_a_refused_assign_puts_the_address_back(world, dual):
    """The assign is refused after the unassign: the address goes back to where it was, the
    intent goes, PartialFailure says rolled back."""
    source, target, ip = moving(world, dual)
    world.strict.inject(
        "AssignIpv6Addresses",
        "InvalidParameterValue",
        when=lambda p: p["NetworkInterfaceId"] == target,
    )
    with pytest.raises(eniops.PartialFailure) as caught:
        move6(world, target, ip, source)
    assert caught.value.rolled_back
    assert v6_of(world, source) == [ip]
    assert v6_of(world, target) == []
    assert "eniops:ip-move" not in tags_of(world, target)


@pytest.mark.parametrize("killed_after", ["intent", "unassign", "assign"])
def test_a_killed_move_is_finished_by_the_same_call(world, dual, killed_after):
    """What a run killed after each step leaves, the same call finishes: the address ends on
    the target, on no other ENI, and the intent is gone."""
    source, target, ip = moving(world, dual)
    with world.strict.internal() as client:
        client.create_tags(
            Resources=[target], Tags=[{"Key": "eniops:ip-move", "Value": f"from={source} ips={ip}"}]
        )
        if killed_after in ("unassign", "assign"):
            client.unassign_ipv6_addresses(NetworkInterfaceId=source, Ipv6Addresses=[ip])
        if killed_after == "assign":
            client.assign_ipv6_addresses(NetworkInterfaceId=target, Ipv6Addresses=[ip])
    world.strict.reset_calls()
    move6(world, target, ip, source)
    ops = [c.operation for c in world.strict.mutations]
    expected = {
        "intent": ["UnassignIpv6Addresses", "AssignIpv6Addresses", "DeleteTags"],
        "unassign": ["AssignIpv6Addresses", "DeleteTags"],
        "assign": ["DeleteTags"],
    }[killed_after]
    assert ops == expected
    assert v6_of(world, target) == [ip]
    assert v6_of(world, source) == []
    assert "eniops:ip-move" not in tags_of(world, target)


def test_an_address_on_its_way_counts_as_held_only_by_a_call_that_moves_it(world, dual):
    """Unassigned by a killed run, the address is held by its intent's `from` ENI only for a
    call that moves it from there: a guard naming anyone else finds it held by nobody
    (expect-mismatch), and a plain add to another ENI takes it as free, with a warning that
    names the intent it does not finish."""
    source, target, ip = moving(world, dual)
    with world.strict.internal() as client:
        client.create_tags(
            Resources=[target], Tags=[{"Key": "eniops:ip-move", "Value": f"from={source} ips={ip}"}]
        )
        client.unassign_ipv6_addresses(NetworkInterfaceId=source, Ipv6Addresses=[ip])
    world.strict.reset_calls()
    with pytest.raises(eniops.Conflict) as caught:
        move6(world, target, ip, world.lab.far)
    assert caught.value.reason == "expect-mismatch"
    assert caught.value.details["current"] == []
    assert world.strict.mutations == []
    other = _spare_eni(world)
    result = eniops.add_secondary_ips(other, ips=[ip], ec2=world.client)
    assert result.changed
    assert v6_of(world, other) == [ip]
    assert any(target in w and "eniops:ip-move" in w for w in result.warnings)


def _spare_eni(world):
    """A new ENI of subnet a, attached to nothing."""
    with world.strict.internal() as client:
        created = client.create_network_interface(SubnetId=world.lab.subnet_a)
    return created["NetworkInterface"]["NetworkInterfaceId"]


def test_a_forged_ip_move_intent_blocks_no_free_address(world, dual):
    """Any ENI of the subnet tagged `eniops:ip-move = "from=<its own id> ips=<a free address>"`
    (anyone with tag-write permission can write it): the address is still free for every call
    that does not move it from there. Added plainly, or with reassignment from nobody, it is
    assigned; the forged tag is named in the warnings and left alone."""
    target = world.primary_eni(world.lab.standby)
    forger = _spare_eni(world)
    ips = [str(dual[0x5A]), str(dual[0x5B])]
    with world.strict.internal() as client:
        client.create_tags(
            Resources=[forger],
            Tags=[{"Key": "eniops:ip-move", "Value": f"from={forger} ips={','.join(ips)}"}],
        )
    world.strict.reset_calls()
    plain = eniops.add_secondary_ips(target, ips=[ips[0]], ec2=world.client)
    guarded = eniops.add_secondary_ips(
        target,
        ips=[ips[1]],
        allow_reassignment=True,
        expect_current=eniops.UNASSOCIATED,
        ec2=world.client,
    )
    assert plain.changed
    assert guarded.changed
    assert sorted(v6_of(world, target)) == sorted(ips)
    for result, ip in ((plain, ips[0]), (guarded, ips[1])):
        (warning,) = [w for w in result.warnings if "eniops:ip-move" in w]
        assert forger in warning
        assert ip in warning
    assert [c.operation for c in world.strict.mutations] == ["AssignIpv6Addresses"] * 2
    assert "eniops:ip-move" in tags_of(world, forger)


def test_a_third_party_taking_the_address_between_the_steps(world, dual):
    """Someone assigns the address elsewhere between the unassign and the assign: EC2
    refuses the assign (and the put-back): Conflict, naming who holds the address."""
    source, target, ip = moving(world, dual)
    taken: list[bool] = []

    def someone_takes_it(model, context, **_):
        params = context.get("strict_params", {})
        to_target = params.get("NetworkInterfaceId") == target
        if model.name == "AssignIpv6Addresses" and to_target and not taken:
            taken.append(True)
            with world.strict.internal() as client:
                client.assign_ipv6_addresses(NetworkInterfaceId=third, Ipv6Addresses=[ip])

    with world.strict.internal() as client:
        third = client.create_network_interface(SubnetId=world.lab.subnet_a)["NetworkInterface"][
            "NetworkInterfaceId"
        ]
    world.client.meta.events.register_first("before-call.ec2", someone_takes_it)
    with pytest.raises(eniops.Conflict) as caught:
        move6(world, target, ip, source)
    assert taken
    assert v6_of(world, third) == [ip]  # nothing lost: one holder, the third party
    assert v6_of(world, source) == []
    assert v6_of(world, target) == []
    # Not put back (the address is someone else's now): a Conflict (moved by someone else)
    # that names who holds it and says where everything is.
    assert caught.value.reason == "expect-mismatch"
    assert caught.value.details["resources"][target]["ipv6_addresses"] == []
    # The intent left on the target is inert (the address shows on another ENI): the same
    # call again is refused, and moves nothing.
    world.strict.reset_calls()
    with pytest.raises(eniops.Conflict) as again:
        move6(world, target, ip, source)
    assert again.value.reason == "expect-mismatch"
    assert world.strict.mutations == []
    assert v6_of(world, third) == [ip]
    assert third in caught.value.message


@pytest.mark.parametrize("by", ["eni", "instance"])
def test_an_ipv6_move_is_five_round_trips(world, dual, by):
    """Read (the target, its instance, who holds the address, the intents: at once), the
    intent, the unassign, the assign, its check with the intent's removal beside it. The
    subnet is not read: the holder's subnet is the target's."""
    source, target, ip = moving(world, dual)
    eniops.describe(world.lab.standby, ec2=world.client)  # the type's limits, cached
    world.strict.latency_s = 0.02
    world.strict.reset_calls()
    move6(world, target if by == "eni" else world.lab.standby, ip, source)
    calls = world.strict.calls
    assert round_trips(calls) == 5
    assert "DescribeSubnets" not in [c.operation for c in calls]
    assert v6_of(world, target) == [ip]


def test_an_assign_refused_while_the_unassign_settles_is_sent_again(world, dual):
    """EC2 still shows the address on the source a moment after the unassign answered: the
    assign is refused (InvalidIPAddress.InUse), who holds it is read, and it is sent again."""
    source, target, ip = moving(world, dual)
    world.strict.inject("AssignIpv6Addresses", "InvalidIPAddress.InUse")
    assert move6(world, target, ip, source).changed
    assert world.strict.count("AssignIpv6Addresses") == 2
    assert v6_of(world, target) == [ip]
    assert v6_of(world, source) == []


def test_an_ipv6_address_held_in_another_subnet_is_outside_this_one(world, dual):
    """An address some ENI of another subnet holds cannot be in this subnet's range: the
    subnet is read and the move refused (ip-outside-subnet), nothing changed."""
    import ipaddress

    with world.strict.internal() as client:
        (subnet,) = client.describe_subnets(SubnetIds=[world.lab.subnet_b])["Subnets"]
        block = subnet["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"]
        ip = str(ipaddress.IPv6Network(block)[0x20])
        far = client.create_network_interface(SubnetId=world.lab.subnet_b)["NetworkInterface"]
        client.assign_ipv6_addresses(
            NetworkInterfaceId=far["NetworkInterfaceId"], Ipv6Addresses=[ip]
        )
    target = world.primary_eni(world.lab.standby)
    world.strict.reset_calls()
    with pytest.raises(eniops.PreconditionFailed) as caught:
        move6(world, target, ip, far["NetworkInterfaceId"])
    assert caught.value.reason == "ip-outside-subnet"
    assert world.strict.mutations == []


def test_an_unassign_ec2_still_settles_is_waited_out_by_the_assign(world, dual):
    """EC2 shows the address on the source, and in use, for two reads after the unassign
    answered: the assign is refused meanwhile (InvalidIPAddress.InUse), who holds it is read,
    and the assign is sent again until EC2 takes it; nothing is on two ENIs at any time."""
    source, target, ip = moving(world, dual)
    world.strict.hold("UnassignIpv6Addresses", polls=2)
    assert move6(world, target, ip, source).changed
    assigns = [c for c in world.strict.calls if c.operation == "AssignIpv6Addresses"]
    assert len(assigns) >= 2
    assert assigns[0].error == "InvalidIPAddress.InUse"
    assert v6_of(world, target) == [ip]
    assert v6_of(world, source) == []
    assert "eniops:ip-move" not in tags_of(world, target)


def test_an_assign_ec2_shows_late_is_waited_for(world, dual):
    """The assign answered, the address shown on the target only after two reads: the
    move waits for it (and removes the intent beside the check that finally sees it)."""
    source, target, ip = moving(world, dual)
    world.strict.hold("AssignIpv6Addresses", polls=2)
    assert move6(world, target, ip, source).changed
    assert world.strict.count("AssignIpv6Addresses") == 1
    assert v6_of(world, target) == [ip]
    assert "eniops:ip-move" not in tags_of(world, target)
