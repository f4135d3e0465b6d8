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
