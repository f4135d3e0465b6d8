"""add_secondary_ips and remove_secondary_ips on the strict layer."""

from __future__ import annotations

import pytest

import eniops


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
