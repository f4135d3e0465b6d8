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

    def start(self, *args: str, **more: str) -> subprocess.Popen[str]:
        """The script started on the node, not waited for."""
        return subprocess.Popen(
            ["ip", "netns", "exec", self.host.node.name, NOTIFY, *args],
            env=self.host.env(**{**self.config, **more}),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def role(self) -> str:
        """The role the script keeps for this resource ("" before any)."""
        kept = list(Path(self.config["ENIOPS_STATE_DIR"]).glob("*.role"))
        return kept[0].read_text().split()[0] if kept else ""


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
    assert "is on this instance" in standby("master").stderr


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


@pytest.mark.parametrize("args", [(), ("",), ("INSTANCE", "VI_1", "", "100"), ("INSTANCE",)])
def test_no_state_is_an_error_never_master(notify, server, lab, args):
    """No state (notify_master configured without one), or an empty one: exit 2, nothing
    taken."""
    done = notify(lab.standby, ENIOPS_EIP=lab.eip, ENIOPS_PEER=lab.active)(*args)
    assert done.returncode == 2, done.stderr
    assert "no state given" in done.stderr
    assert eip_holder(server, lab) == lab.active


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


# -- keepalived: one notification at a time, in order ---------------------------------------


def test_deleted_is_a_stop(notify, server, lab):
    """keepalived 2.x's DELETED (the instance removed by a reload): the local address goes,
    the routes stay, exit 0."""
    standby = notify(lab.standby, ENIOPS_OVERLAY=lab.overlay, ENIOPS_PEER=lab.active)
    assert standby("INSTANCE", "VI_1", "MASTER", "100").returncode == 0
    assert lab.overlay in standby.host.node.addresses()
    done = standby("INSTANCE", "VI_1", "DELETED", "100")
    assert done.returncode == 0, done.stderr
    assert lab.overlay not in standby.host.node.addresses()
    assert standby.role() == "deleted"
    assert route_holder(server, lab) == primary_eni(server, lab.standby)["NetworkInterfaceId"]


def quick_pair(node: Notify, first: str, second: str) -> list[subprocess.Popen[str]]:
    """keepalived's two notifications for two transitions, started 1 ms apart."""
    started = [node.start("INSTANCE", "VI_1", first, "100")]
    time.sleep(0.001)
    started.append(node.start("INSTANCE", "VI_1", second, "100"))
    for process in started:
        process.wait(timeout=120)
    return started


def test_master_then_backup_1_ms_apart_leaves_the_address_where_the_last_says(notify, server, lab):
    """MASTER then BACKUP, 1 ms apart, 50 times: the address (a secondary IP, configured on
    eth0 by MASTER, removed by BACKUP) is never left on the backup. And BACKUP then MASTER
    leaves it on the master. Each time, whichever process runs first."""
    ec2(server).assign_private_ip_addresses(
        NetworkInterfaceId=primary_eni(server, lab.active)["NetworkInterfaceId"],
        PrivateIpAddresses=[VIP],
    )
    standby = notify(lab.standby, ENIOPS_IP=VIP, ENIOPS_PEER=lab.active, ENIOPS_DEV="eth0")
    local = f"{VIP}/{standby.host.node.address.split('/')[1]}"
    outcomes = []
    for trial in range(60):
        first, second = ("BACKUP", "MASTER") if trial % 6 == 5 else ("MASTER", "BACKUP")
        started = quick_pair(standby, first, second)
        assert [p.returncode for p in started] == [0, 0], [p.stderr.read() for p in started]
        outcomes.append((second, local in standby.host.node.addresses(), standby.role()))
    wrong = [o for o in outcomes if o[1] != (o[0] == "MASTER") or o[2] != o[0].lower()]
    assert wrong == [], wrong
    assert len([o for o in outcomes if o[0] == "BACKUP"]) == 50
    ips = [p["PrivateIpAddress"] for p in primary_eni(server, lab.standby)["PrivateIpAddresses"]]
    assert VIP in ips  # taken once, and a backup never gives it back itself


def test_the_notify_fifo_script_handles_each_line_in_order(notify, server, lab, tmp_path):
    """notify_fifo_script: keepalived writes every transition to its FIFO; the script reads
    them one at a time in that order, acts on its own VRRP instance's only (ENIOPS_VRRP),
    and keeps reading after a line that does not read and after keepalived reopens the FIFO."""
    fifo = tmp_path / "keepalived.fifo"
    os.mkfifo(fifo)
    standby = notify(
        lab.standby, ENIOPS_OVERLAY=lab.overlay, ENIOPS_PEER=lab.active, ENIOPS_VRRP="VI_1"
    )
    reader = standby.start(str(fifo))
    here = primary_eni(server, lab.standby)["NetworkInterfaceId"]

    def settled(role: str, present: bool) -> bool:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if standby.role() == role and (lab.overlay in standby.host.node.addresses()) == present:
                return True
            time.sleep(0.05)
        return False

    try:
        with open(fifo, "w") as writer:
            writer.write('INSTANCE "VI_1" MASTER 100\n')
            writer.flush()
            assert settled("master", True)
            assert route_holder(server, lab) == here
            writer.write('INSTANCE "VI_1" BACKUP 100\nINSTANCE "VI_1" MASTER 100\n')
            writer.write('INSTANCE "VI_1" BACKUP 100\nINSTANCE "VI_2" MASTER 100\n')
            writer.flush()
            assert settled("backup", False)
        with open(fifo, "w") as writer:  # keepalived restarted: the FIFO opened again
            writer.write("INSTANCE\n")  # no state: logged, the next line still read
            writer.write('INSTANCE "VI_1" MASTER 100\n')
            writer.flush()
            assert settled("master", True)
            writer.write('INSTANCE "VI_1" DELETED 100\n')
            writer.flush()
            assert settled("deleted", False)
    finally:
        reader.kill()
        said = reader.communicate()[1]
    assert "no state given" in said
    assert route_holder(server, lab) == here


def test_reassertion_reads_the_node_not_the_ec2_api(notify, server, lab):
    """The preferred master's re-assertion with the EC2 API unreachable: IMDSv2 shows the
    Elastic IP here (or the secondary IP among the private addresses), so nothing is called
    and it succeeds; an overlay's routes are seen only through the API (ENIOPS_MONAPI=1),
    which then takes them back."""
    closed = "--endpoint-url http://127.0.0.1:9"
    active = notify(
        lab.active,
        ENIOPS_EIP=lab.eip,
        ENIOPS_PEER=lab.standby,
        ENIOPS_REASSERT="1",
        ENIOPS_HOLD_DOWN="0",
    )
    assert active("master").returncode == 0
    done = active("reassert", ENIOPS_ARGS=closed)
    assert done.returncode == 0, done.stderr
    assert "EndpointConnectionError" not in done.stderr
    put_eip(server, lab, lab.standby)  # gone while master: IMDS shows it gone, taken back
    done = active("reassert")
    assert done.returncode == 0, done.stderr
    assert "taking it back" in done.stderr
    assert eip_holder(server, lab) == lab.active

    overlay = notify(
        lab.active,
        ENIOPS_OVERLAY=lab.overlay,
        ENIOPS_PEER=lab.standby,
        ENIOPS_REASSERT="1",
        ENIOPS_HOLD_DOWN="0",
    )
    assert overlay("master").returncode == 0
    standby = notify(lab.standby, ENIOPS_OVERLAY=lab.overlay, ENIOPS_PEER=lab.active)
    assert standby("master").returncode == 0  # the flap
    unseen = overlay("reassert", ENIOPS_ARGS=closed)
    assert unseen.returncode == 0, unseen.stderr
    assert "seen only through the EC2 API" in unseen.stderr
    assert route_holder(server, lab) == primary_eni(server, lab.standby)["NetworkInterfaceId"]
    done = overlay("reassert", ENIOPS_MONAPI="1")
    assert done.returncode == 0, done.stderr
    assert route_holder(server, lab) == primary_eni(server, lab.active)["NetworkInterfaceId"]
