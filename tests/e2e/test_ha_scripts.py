"""`eniops-notify` (keepalived and Patroni) with the arguments each passes, on nodes of their
own (network namespaces) against a moto server and a fake IMDSv2; the shipped keepalived
configuration, systemd units and the package's list of scripts."""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
import time
from pathlib import Path

import pytest
from holders import OVERLAY_V6, ec2, eip_holder, ipv6_overlay, primary_eni, put_eip, route_holder

SCRIPTS = Path(__file__).resolve().parents[2] / "eniops" / "ha"
NOTIFY = str(SCRIPTS / "eniops-notify")
VIP = "10.0.1.60"


class Notify:
    """eniops-notify on one instance's node, with its own state directory."""

    def __init__(self, host, tmp_path: Path, **config: str) -> None:
        self.host = host
        self.config = {
            "ENIOPS": host.eniops,
            "ENIOPS_ARGS": f"--endpoint-url {host.server}",
            "ENIOPS_STATE_DIR": str(tmp_path / host.node.name),
            "ENIOPS_NOTIFY_CONF": "/nonexistent",
            "ENIOPS_RETRY_DELAY": "0",
            **config,
        }

    def __call__(self, *args: str, **more: str):
        return self.host.run([NOTIFY, *args], **{**self.config, **more})


@pytest.fixture
def notify(hosts, tmp_path):
    return lambda instance_id, **config: Notify(hosts(instance_id), tmp_path, **config)


# -- keepalived: Elastic IP ------------------------------------------------------------------


def test_master_takes_the_address_from_the_peer(notify, server, lab):
    """keepalived's `notify` arguments: MASTER takes it from the peer; again: nothing to do."""
    standby = notify(lab.standby, ENIOPS_EIP=lab.eip, ENIOPS_PEER=lab.active)
    done = standby("INSTANCE", "VI_1", "MASTER", "100")
    assert done.returncode == 0, done.stderr
    assert eip_holder(server, lab) == lab.standby
    assert standby("master").returncode == 0
    assert "is on this instance" in standby().stderr  # notify_master: no argument


def test_master_takes_a_free_address(notify, server, lab):
    put_eip(server, lab, None)
    done = notify(lab.standby, ENIOPS_EIP=lab.eip, ENIOPS_PEER=lab.active)("master")
    assert done.returncode == 0, done.stderr
    assert eip_holder(server, lab) == lab.standby


def test_a_third_partys_address_is_left_alone(notify, server, lab):
    put_eip(server, lab, lab.far)
    done = notify(lab.standby, ENIOPS_EIP=lab.eip, ENIOPS_PEER=lab.active)("master")
    assert done.returncode == 4
    assert eip_holder(server, lab) == lab.far
    assert "left alone" in done.stderr


@pytest.mark.parametrize("state", ["BACKUP", "FAULT", "STOP"])
def test_a_backup_never_releases_an_elastic_ip(notify, server, lab, state):
    active = notify(lab.active, ENIOPS_EIP=lab.eip, ENIOPS_PEER=lab.standby)
    assert active("INSTANCE", "VI_1", state, "150").returncode == 0
    assert eip_holder(server, lab) == lab.active


# -- keepalived: overlay and secondary IP ----------------------------------------------------


def test_overlay_master_and_backup(notify, server, lab):
    """MASTER: the routes come here and the /32 goes on eth0; BACKUP and FAULT: the local
    address goes, the routes stay until the peer takes them."""
    standby = notify(lab.standby, ENIOPS_OVERLAY=lab.overlay, ENIOPS_PEER=lab.active)
    done = standby("INSTANCE", "VI_1", "MASTER", "100")
    assert done.returncode == 0, done.stderr
    here = primary_eni(server, lab.standby)["NetworkInterfaceId"]
    assert route_holder(server, lab) == here
    assert lab.overlay in standby.host.node.addresses()
    for state in ("BACKUP", "FAULT"):
        assert standby("INSTANCE", "VI_1", state, "100").returncode == 0
        assert lab.overlay not in standby.host.node.addresses()
        assert route_holder(server, lab) == here


def test_overlay_routed_to_a_third_party_is_left_alone(notify, server, lab):
    done = notify(lab.standby, ENIOPS_OVERLAY=lab.overlay, ENIOPS_PEER=lab.far)("master")
    assert done.returncode == 4
    assert route_holder(server, lab) == primary_eni(server, lab.active)["NetworkInterfaceId"]
    assert lab.overlay not in notify(lab.standby).host.node.addresses()


def test_secondary_ip_with_the_subnets_prefix(notify, server, lab):
    """A secondary IP: assigned here (taken from the peer) and configured with eth0's
    prefix; a backup removes the local address only."""
    ec2(server).assign_private_ip_addresses(
        NetworkInterfaceId=primary_eni(server, lab.active)["NetworkInterfaceId"],
        PrivateIpAddresses=[VIP],
    )
    standby = notify(lab.standby, ENIOPS_IP=VIP, ENIOPS_PEER=lab.active)
    done = standby("master")
    assert done.returncode == 0, done.stderr
    ips = [p["PrivateIpAddress"] for p in primary_eni(server, lab.standby)["PrivateIpAddresses"]]
    assert VIP in ips
    own_prefix = standby.host.node.address.split("/")[1]
    assert f"{VIP}/{own_prefix}" in standby.host.node.addresses()
    assert standby("backup").returncode == 0
    assert f"{VIP}/{own_prefix}" not in standby.host.node.addresses()


def test_a_tag_naming_the_address_never_stops_its_reassertion(notify, server, lab):
    """The secondary IP left the preferred master for its peer while it stayed master, and
    the master's instance carries a tag whose value is the address: re-assertion reads the
    field that says where it is (the primary ENI's addresses), never a text search of what
    eniops printed, so it sees the address gone and takes it back."""
    active = notify(
        lab.active,
        ENIOPS_IP=VIP,
        ENIOPS_PEER=lab.standby,
        ENIOPS_REASSERT="1",
        ENIOPS_HOLD_DOWN="0",
    )
    assert active("master").returncode == 0
    client = ec2(server)
    source = primary_eni(server, lab.active)["NetworkInterfaceId"]
    client.unassign_private_ip_addresses(NetworkInterfaceId=source, PrivateIpAddresses=[VIP])
    client.assign_private_ip_addresses(
        NetworkInterfaceId=primary_eni(server, lab.standby)["NetworkInterfaceId"],
        PrivateIpAddresses=[VIP],
    )
    client.create_tags(Resources=[lab.active], Tags=[{"Key": "VIP", "Value": VIP}])
    done = active("reassert")
    assert done.returncode == 0, done.stderr
    assert "taking it back" in done.stderr
    ips = [p["PrivateIpAddress"] for p in primary_eni(server, lab.active)["PrivateIpAddresses"]]
    assert VIP in ips


# -- retries -------------------------------------------------------------------------------


def flaky(tmp_path, fails: int, code: int, real: str) -> tuple[str, Path]:
    """An eniops command that exits `code` for its first `fails` runs, then is eniops."""
    counter = tmp_path / "runs"
    script = tmp_path / "flaky-eniops"
    script.write_text(
        textwrap.dedent(f"""\
            #!/bin/sh
            n=$(cat {counter} 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > {counter}
            [ "$n" -le {fails} ] && {{ echo "injected failure" >&2; exit {code}; }}
            exec {real} "$@"
            """)
    )
    script.chmod(0o755)
    return str(script), counter


@pytest.mark.parametrize(("code", "fails", "runs", "exit_code"), [(6, 2, 3, 0), (5, 9, 3, 5)])
def test_a_failure_a_retry_can_fix_is_tried_again(
    notify, server, lab, tmp_path, code, fails, runs, exit_code
):
    """Exit 5 or 6: tried again, backing off, at most ENIOPS_RETRIES times in all."""
    standby = notify(lab.standby, ENIOPS_EIP=lab.eip, ENIOPS_PEER=lab.active)
    command, counter = flaky(tmp_path, fails, code, standby.host.eniops)
    done = standby("master", ENIOPS=command, ENIOPS_RETRIES="3")
    assert done.returncode == exit_code, done.stderr
    assert int(counter.read_text()) == runs
    assert (eip_holder(server, lab) == lab.standby) == (exit_code == 0)
    assert "trying again" in done.stderr


@pytest.mark.parametrize("code", [2, 3, 7, 8])
def test_a_refusal_or_a_partial_failure_is_never_tried_again(notify, lab, tmp_path, code):
    standby = notify(lab.standby, ENIOPS_EIP=lab.eip, ENIOPS_PEER=lab.active)
    command, counter = flaky(tmp_path, 9, code, standby.host.eniops)
    done = standby("master", ENIOPS=command)
    assert done.returncode == code
    assert int(counter.read_text()) == 1
    assert "not tried again" in done.stderr


def test_held_by_someone_else_is_not_tried_again(notify, server, lab, tmp_path):
    """Exit 4 from the peer's guard and from nobody's: two runs, no retry."""
    put_eip(server, lab, lab.far)
    standby = notify(lab.standby, ENIOPS_EIP=lab.eip, ENIOPS_PEER=lab.active)
    command, counter = flaky(tmp_path, 0, 0, standby.host.eniops)
    assert standby("master", ENIOPS=command).returncode == 4
    assert int(counter.read_text()) == 2


# -- a flap, and the preferred master's re-assertion ---------------------------------------


def test_a_flap_is_undone_by_the_preferred_master_and_never_fought_over(notify, server, lab):
    """The backup flaps to master and back: it took the address. The real master, master
    all along, takes it back once its hold-down has passed; the flapping node never
    re-asserts; a second loss within the hold-down is not fought over."""
    active = notify(lab.active, ENIOPS_EIP=lab.eip, ENIOPS_PEER=lab.standby, ENIOPS_REASSERT="1")
    standby = notify(lab.standby, ENIOPS_EIP=lab.eip, ENIOPS_PEER=lab.active)
    became_master = time.monotonic()
    assert active("INSTANCE", "VI_1", "MASTER", "150").returncode == 0
    assert eip_holder(server, lab) == lab.active

    assert standby("INSTANCE", "VI_1", "MASTER", "100").returncode == 0  # the flap
    assert standby("INSTANCE", "VI_1", "BACKUP", "100").returncode == 0
    assert eip_holder(server, lab) == lab.standby  # a backup never releases it

    # Master for less than its hold-down (60 s): it waits.
    assert active("reassert").returncode == 0
    assert eip_holder(server, lab) == lab.standby
    hold = 8.0
    time.sleep(max(0.0, became_master + hold + 1 - time.monotonic()))
    done = active("reassert", ENIOPS_HOLD_DOWN=str(int(hold)))
    assert done.returncode == 0, done.stderr
    assert "taking it back" in done.stderr
    assert eip_holder(server, lab) == lab.active
    assert standby("reassert").returncode == 0  # not the preferred master: never re-asserts
    assert eip_holder(server, lab) == lab.active

    # Another flap at once: the master does not take it back again within its hold-down.
    assert standby("master").returncode == 0
    again = active("reassert", ENIOPS_HOLD_DOWN=str(int(hold)))
    assert again.returncode == 1
    assert "not taking it again yet" in again.stderr
    assert eip_holder(server, lab) == lab.standby
    # keepalived's notify_master_rx_lower_pri: the master hears the flapped peer, takes it.
    assert active("master").returncode == 0
    assert eip_holder(server, lab) == lab.active


def test_reassertion_waits_while_backup(notify, server, lab):
    active = notify(
        lab.active,
        ENIOPS_EIP=lab.eip,
        ENIOPS_PEER=lab.standby,
        ENIOPS_REASSERT="1",
        ENIOPS_HOLD_DOWN="0",
    )
    put_eip(server, lab, lab.standby)
    assert active("backup").returncode == 0
    assert active("reassert").returncode == 0
    assert eip_holder(server, lab) == lab.standby


# -- Patroni ---------------------------------------------------------------------------------


def test_patroni_role_changes(notify, server, lab):
    """on_role_change primary takes the overlay IP; replica and demoted leave the local
    address; on_reload and on_restart do nothing."""
    standby = notify(
        lab.standby, ENIOPS_OVERLAY=lab.overlay, ENIOPS_PEERS=f"{lab.far} {lab.active}"
    )
    done = standby("on_role_change", "primary", "batman")
    assert done.returncode == 0, done.stderr
    assert route_holder(server, lab) == primary_eni(server, lab.standby)["NetworkInterfaceId"]
    assert lab.overlay in standby.host.node.addresses()
    for role in ("replica", "demoted"):
        assert standby("on_role_change", role, "batman").returncode == 0
        assert lab.overlay not in standby.host.node.addresses()
        assert standby("on_role_change", "master", "batman").returncode == 0  # Patroni < 3
        assert lab.overlay in standby.host.node.addresses()
    assert standby("on_stop", "primary", "batman").returncode == 0
    assert lab.overlay not in standby.host.node.addresses()
    for action in ("on_reload", "on_restart"):
        assert standby(action, "primary", "batman").returncode == 0
    assert lab.overlay not in standby.host.node.addresses()


# -- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"ENIOPS_EIP": "eipalloc-0123456789abcdef0", "ENIOPS_IP": VIP},
        {"ENIOPS_EIP": "eipalloc-0123456789abcdef0", "ENIOPS_RETRIES": "x"},
    ],
    ids=["none", "two", "retries"],
)
def test_a_configuration_that_does_not_read(notify, lab, config):
    done = notify(lab.standby, **config)("master")
    assert done.returncode == 2


def test_an_unknown_state_is_refused(notify, lab):
    done = notify(lab.standby, ENIOPS_EIP=lab.eip, ENIOPS_PEER=lab.active)("sideways")
    assert done.returncode == 2
    assert "unknown role" in done.stderr


def test_the_configuration_file(notify, server, lab, tmp_path):
    conf = tmp_path / "notify.conf"
    conf.write_text(f"ENIOPS_EIP={lab.eip}\nENIOPS_PEER={lab.active}\n")
    done = notify(lab.standby, ENIOPS_NOTIFY_CONF=str(conf))("master")
    assert done.returncode == 0, done.stderr
    assert eip_holder(server, lab) == lab.standby


# -- shipped files -------------------------------------------------------------------------


def test_the_keepalived_example_passes_keepalived_config_test(tmp_path):
    """keepalived -t: nothing to say but that the instance has no VIP of keepalived's own
    (the address is EC2's, moved by eniops-notify)."""
    if shutil.which("keepalived") is None:
        if os.environ.get("ENIOPS_REQUIRE_NODES"):
            pytest.fail("keepalived is not installed (scripts/test.sh installs it as root)")
        pytest.skip("keepalived is not installed")
    done = subprocess.run(
        ["keepalived", "-t", "-f", str(SCRIPTS / "keepalived.conf.example")],
        capture_output=True,
        text=True,
        check=False,
    )
    said = {line for line in (done.stdout + done.stderr).splitlines() if line.strip()}
    assert said == {"(VI_1) No VIP specified; at least one is sensible"}, said
    bad = tmp_path / "keepalived.conf"
    bad.write_text(
        (SCRIPTS / "keepalived.conf.example").read_text().replace("nopreempt", "nopreemp")
    )
    broken = subprocess.run(
        ["keepalived", "-t", "-f", str(bad)], capture_output=True, text=True, check=False
    )
    assert "nopreemp" in broken.stdout + broken.stderr


def test_the_systemd_units_name_the_script():
    service = (SCRIPTS / "eniops-reassert.service").read_text()
    assert "ExecStart=/usr/local/bin/eniops-notify reassert" in service
    assert "OnUnitActiveSec=" in (SCRIPTS / "eniops-reassert.timer").read_text()


def test_scripts_ship_with_the_package():
    """`eniops ha-script` lists every shipped file (and the Patroni name of eniops-notify);
    each prints as shipped; the scripts are executable."""
    from eniops import cli

    names = cli_output(cli, ["ha-script"]).split()
    shipped = sorted(p.name for p in SCRIPTS.iterdir())
    assert sorted(set(names) - {"patroni-on-role-change"}) == shipped
    assert "patroni-on-role-change" in names
    for name in shipped:
        assert (
            cli_output(cli, ["ha-script", name]).rstrip() == (SCRIPTS / name).read_text().rstrip()
        )
    patroni = cli_output(cli, ["ha-script", "patroni-on-role-change"])
    assert patroni.rstrip() == Path(NOTIFY).read_text().rstrip()
    for name in ("eniops-notify", "eniops-ocf"):
        assert os.access(SCRIPTS / name, os.X_OK)


def cli_output(cli, argv):
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(argv) == 0
    return out.getvalue()


def test_an_ipv6_overlay_master_and_backup(notify, server, lab):
    """An IPv6 overlay address: its /128 routes come here and the /128 goes on eth0; a
    backup removes the local address only."""
    ipv6_overlay(server, lab, lab.active)
    standby = notify(lab.standby, ENIOPS_OVERLAY=OVERLAY_V6.split("/")[0], ENIOPS_PEER=lab.active)
    done = standby("INSTANCE", "VI_1", "MASTER", "100")
    assert done.returncode == 0, done.stderr
    here = primary_eni(server, lab.standby)["NetworkInterfaceId"]
    assert route_holder(server, lab, OVERLAY_V6) == here
    assert route_holder(server, lab) == primary_eni(server, lab.active)["NetworkInterfaceId"]
    assert OVERLAY_V6 in standby.host.node.addresses()
    assert standby("INSTANCE", "VI_1", "BACKUP", "100").returncode == 0
    assert OVERLAY_V6 not in standby.host.node.addresses()
    assert route_holder(server, lab, OVERLAY_V6) == here


def test_a_secondary_ipv6_address_taken_from_the_peer(notify, server, lab):
    """ENIOPS_IP in IPv6: moved from the peer in two guarded steps, configured as a /64;
    a backup removes the local address only."""
    from eniops.testing import dual_stack

    vip = dual_stack(ec2(server), lab)[lab.subnet_a].replace("::/64", "::60")
    active = primary_eni(server, lab.active)["NetworkInterfaceId"]
    ec2(server).assign_ipv6_addresses(NetworkInterfaceId=active, Ipv6Addresses=[vip])
    standby = notify(lab.standby, ENIOPS_IP=vip, ENIOPS_PEER=lab.active)
    done = standby("master")
    assert done.returncode == 0, done.stderr
    here = primary_eni(server, lab.standby)
    assert [a["Ipv6Address"] for a in here.get("Ipv6Addresses", [])] == [vip]
    assert f"{vip}/64" in standby.host.node.addresses()
    assert standby("backup").returncode == 0
    assert f"{vip}/64" not in standby.host.node.addresses()
