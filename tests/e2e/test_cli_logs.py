"""What `-v`, `-vv` and `--log-format json` show on stderr: every change a command made and
how long its verification took, each EC2 call with its round trip, each retry; never a
credential."""

from __future__ import annotations

import json
import re

import pytest
from cli_process import run

VERIFIED = re.compile(r"^INFO eniops\.executor: (\w+) .*: verified in [0-9.]+ s$")
CALL = re.compile(r"^DEBUG eniops\.gateway: (\w+) .*: answered in \d+ ms \(attempt \d+, request ")


def _lines(done, pattern):
    return [m.group(1) for line in done.stderr.splitlines() if (m := pattern.match(line))]


def test_a_remap_says_its_change_and_its_verification(server, lab):
    """-v: the association, what it named and how long its verification took; no call
    lines (those are -vv's); the output itself unchanged."""
    done = run(
        server, "-v", "--output", "json", "eip", "remap", lab.eip, "--to-instance", lab.standby
    )
    assert done.returncode == 0, done.stderr
    assert _lines(done, VERIFIED) == ["AssociateAddress"]
    (line,) = [x for x in done.stderr.splitlines() if "AssociateAddress" in x]
    assert lab.eip in line
    assert "PrivateIpAddress=" in line
    assert _lines(done, CALL) == []
    assert json.loads(done.stdout)["changed"] is True


def test_each_call_at_debug_with_its_round_trip(server, lab):
    """-vv: every EC2 call, with what it named, its attempt, round trip and request id."""
    done = run(server, "-vv", "eip", "remap", lab.eip, "--to-instance", lab.standby)
    assert done.returncode == 0, done.stderr
    calls = _lines(done, CALL)
    assert "AssociateAddress" in calls
    assert "DescribeAddresses" in calls
    assert _lines(done, VERIFIED) == ["AssociateAddress"]


def test_a_move_says_its_detach_and_its_attach(server, lab):
    done = run(
        server,
        "-v",
        "eni",
        "move",
        lab.floating_eni,
        "--to-instance",
        lab.standby,
        "--expect-current",
        lab.active,
    )
    assert done.returncode == 0, done.stderr
    said = _lines(done, VERIFIED)
    assert said[:2] == ["DetachNetworkInterface", "AttachNetworkInterface"]


def test_a_failover_says_every_step(server, lab):
    """Every change of a failover, each with its verification: the address, the ENI, the
    routes. A user reads from -v alone what a failover did and how long each step took."""
    done = run(server, "-v", "failover", lab.active, "--to-instance", lab.standby)
    assert done.returncode == 0, done.stderr
    said = _lines(done, VERIFIED)
    assert {"AssociateAddress", "DetachNetworkInterface", "AttachNetworkInterface"} <= set(said)
    assert said.count("ReplaceRoute") == len(lab.route_tables)


def test_a_throttled_call_is_said_with_its_wait(server, lab):
    """EC2 refuses the first two reads for their rate: each retry at INFO, with the code
    and the wait, then the call that went through at DEBUG."""
    faults = json.dumps({"inject": [["DescribeAddresses", "RequestLimitExceeded", 2]]})
    done = run(
        server,
        "-vv",
        "eip",
        "remap",
        lab.eip,
        "--to-instance",
        lab.standby,
        env={"ENIOPS_TEST_FAULTS": faults},
    )
    assert done.returncode == 0, done.stderr
    retries = [x for x in done.stderr.splitlines() if "trying again in" in x]
    assert len(retries) == 2
    assert all(x.startswith("INFO eniops.gateway: DescribeAddresses") for x in retries)
    assert all("RequestLimitExceeded" in x for x in retries)
    assert "(attempt 3)" in retries[-1]


def test_json_log_lines(server, lab):
    """--log-format json: every log line one JSON object, with the Lambda's keys, the
    operation, this command's correlation id, and a call's fields."""
    done = run(
        server,
        "-vv",
        "--log-format",
        "json",
        "eip",
        "remap",
        lab.eip,
        "--to-instance",
        lab.standby,
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    assert records
    for record in records:
        assert {"timestamp", "level", "logger", "message", "correlation_id"} <= set(record)
        assert record["operation"] == "remap_eip"
    assert len({r["correlation_id"] for r in records}) == 1
    calls = [r for r in records if r["level"] == "DEBUG"]
    assert all({"action", "attempt", "round_trip_ms", "request_id"} <= set(r) for r in calls)
    (verified,) = [r for r in records if r["level"] == "INFO" and "verified_s" in r]
    assert verified["action"] == "AssociateAddress"
    assert lab.eip in verified["resources"]


@pytest.mark.parametrize("flag", ["-vv", "-v"])
def test_no_secret_reaches_the_log(server, lab, flag):
    """Whatever the level: no access key's secret, session token or external id."""
    secret, token = "wJalrXUtnFEMI-never-logged", "FwoGZXIvYXdzE-never-logged"
    done = run(
        server,
        flag,
        "--log-format",
        "json",
        "failover",
        lab.active,
        "--to-instance",
        lab.standby,
        env={"AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": token},
    )
    assert done.returncode == 0, done.stderr
    assert secret not in done.stderr
    assert token not in done.stderr
