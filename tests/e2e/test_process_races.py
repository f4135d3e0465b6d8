"""Races between processes: several `eniops` commands failing one resource over at once, as
several HA nodes (or Lambda invocations) would, each with --expect-current.

Each process waits for one shared instant before its first call, so that their reads really
do overlap. Exactly one exits 0 having moved the resource; the others exit 4 (conflict) or
0 with nothing changed; the resource ends where the winner put it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import boto3
from cli_process import strict_env

from eniops.testing import add_instances

CONFLICT = 4


def race(server: str, commands: list[list[str]]) -> list[subprocess.CompletedProcess[str]]:
    """Start every command, all released at one instant 2 s from now; wait for each."""
    start_at = time.time() + 2.0
    env = strict_env({"ENIOPS_TEST_FAULTS": json.dumps({"start_at": start_at})})
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "eniops", "--endpoint-url", server, "--output", "json", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for args in commands
    ]
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


def one_winner(done: list[subprocess.CompletedProcess[str]]) -> int:
    """The index of the one process that moved the resource; every other lost cleanly."""
    won = []
    for i, proc in enumerate(done):
        assert "Traceback" not in proc.stderr, proc.stderr
        if proc.returncode == 0 and json.loads(proc.stdout)["changed"]:
            won.append(i)
        elif proc.returncode == CONFLICT:
            error = json.loads(proc.stdout)["error"]
            assert error["reason"] == "expect-mismatch", error
        else:
            assert proc.returncode == 0, proc.stderr
    assert len(won) == 1, [(p.returncode, p.stderr[-300:]) for p in done]
    return won[0]


def test_processes_take_one_address_from_its_holder_one_wins(server, lab):
    client = boto3.client("ec2", region_name="us-east-1", endpoint_url=server)
    targets = []
    for index in range(1, 4):
        eni = client.create_network_interface(SubnetId=lab.subnet_a)["NetworkInterface"]
        client.attach_network_interface(
            NetworkInterfaceId=eni["NetworkInterfaceId"], InstanceId=lab.standby, DeviceIndex=index
        )
        targets.append(eni["NetworkInterfaceId"])
    done = race(
        server,
        [["eip", "remap", lab.eip, "--to-eni", t, "--expect-current", lab.active] for t in targets],
    )
    winner = one_winner(done)
    address = client.describe_addresses(AllocationIds=[lab.eip])["Addresses"][0]
    assert address["NetworkInterfaceId"] == targets[winner]


def test_processes_move_one_eni_one_wins(server, lab):
    client = boto3.client("ec2", region_name="us-east-1", endpoint_url=server)
    targets = [lab.standby, *add_instances(client, lab, 2)]
    done = race(
        server,
        [
            ["eni", "move", lab.floating_eni, "--to-instance", t, "--expect-current", lab.active]
            for t in targets
        ],
    )
    winner = one_winner(done)
    eni = client.describe_network_interfaces(NetworkInterfaceIds=[lab.floating_eni])[
        "NetworkInterfaces"
    ][0]
    assert eni["Attachment"]["InstanceId"] == targets[winner]
    assert eni["Attachment"]["Status"] == "attached"
