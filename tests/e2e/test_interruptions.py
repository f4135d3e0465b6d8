"""A real eniops process killed at each point of a move and of a failover, then re-run.

The strict layer in the process slows or holds EC2 at the chosen point; the test watches the
account on the moto server, kills the process there, and runs the same command again. In
every case the ENI ends attached to the target, and its `eniops:move` intent is gone.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import boto3
import pytest
from cli_process import strict_env

HOLD_S = 4.0


def _client(server):
    return boto3.client("ec2", region_name="us-east-1", endpoint_url=server)


def _eni(server, eni_id):
    return _client(server).describe_network_interfaces(NetworkInterfaceIds=[eni_id])[
        "NetworkInterfaces"
    ][0]


def _tags(eni):
    return {t["Key"]: t["Value"] for t in eni.get("TagSet", [])}


def _intent_written(server, lab):
    eni = _eni(server, lab.floating_eni)
    return "eniops:move" in _tags(eni) and (eni.get("Attachment") or {}).get("InstanceId")


def _detached(server, lab):
    eni = _eni(server, lab.floating_eni)
    return eni["Status"] == "available" and "eniops:move" in _tags(eni)


def _on_target(server, lab):
    eni = _eni(server, lab.floating_eni)
    return (eni.get("Attachment") or {}).get("InstanceId") == lab.standby


#: Where to interrupt: the faults that make the window, what the account shows inside it, and
#: how long after that to wait so that the process is inside it too.
POINTS: dict[str, tuple[dict, Callable, float]] = {
    "before-the-detach": ({"slow": [["DetachNetworkInterface", HOLD_S]]}, _intent_written, 0.3),
    "while-detaching": ({"hold_seconds": [["DetachNetworkInterface", HOLD_S]]}, _detached, 0.5),
    "between-detach-and-attach": ({"slow": [["AttachNetworkInterface", HOLD_S]]}, _detached, 1.0),
    "while-attaching": ({"hold_seconds": [["AttachNetworkInterface", HOLD_S]]}, _on_target, 0.5),
}
SIGNALS = {"SIGKILL": signal.SIGKILL, "SIGTERM": signal.SIGTERM, "SIGINT": signal.SIGINT}


def _command(server, lab, kind):
    base = [sys.executable, "-m", "eniops", "--endpoint-url", server, "--output", "json"]
    if kind == "move":
        return [
            *base,
            "eni",
            "move",
            lab.floating_eni,
            "--to-instance",
            lab.standby,
            "--expect-current",
            lab.active,
        ]
    return [*base, "failover", lab.active, "--to-instance", lab.standby]


def _wait_for(condition, timeout=20.0):
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("the process never reached the point to interrupt it at")


@pytest.mark.parametrize("kind", ["move", "failover"])
@pytest.mark.parametrize("point", sorted(POINTS))
@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_killed_then_rerun_completes_the_move(server, lab, kind, point, name):
    """Killed at this point, the same command run again leaves the ENI on the target."""
    faults, inside, settle_s = POINTS[point]
    env = strict_env({"ENIOPS_TEST_FAULTS": json.dumps(faults)})
    command = _command(server, lab, kind)
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_for(lambda: inside(server, lab))
        time.sleep(settle_s)
        process.send_signal(SIGNALS[name])
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    if name == "SIGKILL":
        assert process.returncode == -signal.SIGKILL
    else:
        assert process.returncode == 128 + SIGNALS[name], err
        assert "where everything is" in err
        assert json.loads(out)["error"]["type"] == "Interrupted"
    again = subprocess.run(
        command, env=strict_env(), capture_output=True, text=True, timeout=120, check=False
    )
    assert again.returncode == 0, again.stderr
    eni = _eni(server, lab.floating_eni)
    assert eni["Attachment"]["InstanceId"] == lab.standby
    assert eni["Attachment"]["Status"] == "attached"
    assert "eniops:move" not in _tags(eni)
    if kind == "failover":
        address = _client(server).describe_addresses(AllocationIds=[lab.eip])["Addresses"][0]
        standby = _client(server).describe_instances(InstanceIds=[lab.standby])
        primary = standby["Reservations"][0]["Instances"][0]["NetworkInterfaces"][0]
        assert address["NetworkInterfaceId"] == primary["NetworkInterfaceId"]


# -- an IPv6 address moved in two steps ----------------------------------------------------


def _v6(server, eni_id):
    return [a["Ipv6Address"] for a in _eni(server, eni_id).get("Ipv6Addresses", [])]


def _v6_lab(server, lab):
    """The lab made dual-stack, an IPv6 address on the active instance's primary ENI; the
    two primary ENIs and the address."""
    from eniops.testing import dual_stack

    client = _client(server)
    ip = dual_stack(client, lab)[lab.subnet_a].replace("::/64", "::70")
    enis = []
    for instance in (lab.active, lab.standby):
        found = client.describe_instances(InstanceIds=[instance])["Reservations"][0]
        enis.append(found["Instances"][0]["NetworkInterfaces"][0]["NetworkInterfaceId"])
    client.assign_ipv6_addresses(NetworkInterfaceId=enis[0], Ipv6Addresses=[ip])
    return enis[0], enis[1], ip


V6_POINTS = {
    # the intent written, the address still on its source
    "after-the-intent": (
        "UnassignIpv6Addresses",
        lambda s, src, dst, ip: "eniops:ip-move" in _tags(_eni(s, dst)) and ip in _v6(s, src),
    ),
    # unassigned, on no ENI yet
    "after-the-unassign": (
        "AssignIpv6Addresses",
        lambda s, src, dst, ip: ip not in _v6(s, src) and ip not in _v6(s, dst),
    ),
    # assigned, the intent not removed yet
    "after-the-assign": (
        "DeleteTags",
        lambda s, src, dst, ip: ip in _v6(s, dst) and "eniops:ip-move" in _tags(_eni(s, dst)),
    ),
}


@pytest.mark.parametrize("point", sorted(V6_POINTS))
def test_an_ipv6_move_killed_at_each_step_is_finished_by_a_rerun(server, lab, point):
    """SIGKILL after the intent, after the unassign, after the assign: the same command run
    again leaves the address on the target alone, and the intent gone."""
    source, target, ip = _v6_lab(server, lab)
    slowed, inside = V6_POINTS[point]
    faults = {"slow": [[slowed, HOLD_S]]}
    command = [
        *(sys.executable, "-m", "eniops", "--endpoint-url", server, "--output", "json"),
        *("ip", "add", target, "--ip", ip, "--allow-reassignment", "--expect-current", source),
    ]
    process = subprocess.Popen(
        command,
        env=strict_env({"ENIOPS_TEST_FAULTS": json.dumps(faults)}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(lambda: inside(server, source, target, ip))
        time.sleep(0.3)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    assert inside(server, source, target, ip)  # killed where the point says
    again = subprocess.run(
        command, env=strict_env(), capture_output=True, text=True, timeout=120, check=False
    )
    assert again.returncode == 0, again.stderr
    assert _v6(server, target) == [ip]
    assert ip not in _v6(server, source)
    assert "eniops:ip-move" not in _tags(_eni(server, target))
