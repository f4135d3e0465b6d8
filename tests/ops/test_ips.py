"""add_secondary_ips and remove_secondary_ips on the strict layer."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

import eniops
from eniops.testing import dual_stack


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


def test_assign_not_visible_in_time_is_a_timeout(world):
    """Never success unverified: an assignment that never shows raises OperationTimeout."""
    world.strict.hold("AssignPrivateIpAddresses", polls=10_000)
    with pytest.raises(eniops.OperationTimeout) as caught:
        eniops.add_secondary_ips(
            world.lab.standby, ips=["10.0.1.81"], timeout=1.5, ec2=world.client
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


def v6_of(world, eni):
    return [a["Ipv6Address"] for a in world.eni(eni).get("Ipv6Addresses", [])]


@pytest.fixture
def dual(world):
    """The lab made dual-stack: subnet a's IPv6 /64 (an ipaddress network)."""
    import ipaddress

    with world.strict.internal() as client:
        ranges = dual_stack(client, world.lab)
    return ipaddress.IPv6Network(ranges[world.lab.subnet_a])


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
    """Outside the subnet's IPv6 range, another subnet's range, held by another ENI (EC2
    cannot reassign IPv6: refused even with allow_reassignment), past the type's limit."""
    eni = world.primary_eni(world.lab.standby)
    holder = world.primary_eni(world.lab.active)
    taken = str(dual[0x20])
    with world.strict.internal() as client:
        client.assign_ipv6_addresses(NetworkInterfaceId=holder, Ipv6Addresses=[taken])
    world.strict.reset_calls()
    cases = [
        ({"ips": ["2001:db8::1"]}, "ip-outside-subnet"),
        ({"ips": [taken]}, "ip-in-use"),
        ({"ips": [taken], "allow_reassignment": True, "expect_current": holder}, "ip-in-use"),
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
