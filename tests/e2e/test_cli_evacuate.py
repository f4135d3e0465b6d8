"""`eniops evacuate --zone` and `eniops check --zone` end to end: a moto server on 127.0.0.1,
real argument parsing, exit codes as the reference gives them."""

from __future__ import annotations

import json

import boto3
import pytest
from cli_process import run

from eniops.testing import add_zone_pairs


@pytest.fixture
def zone_pairs(server, lab, tmp_path):
    """Two pairs across the lab's zones, and a file naming them (and the lab's own pair,
    whose standby is in the same zone)."""
    client = boto3.client("ec2", region_name="us-east-1", endpoint_url=server)
    made = add_zone_pairs(client, lab, 2)
    across = tmp_path / "pairs.json"
    across.write_text(json.dumps({a: s for a, s, _ in made}))
    mixed = tmp_path / "mixed.json"
    mixed.write_text(json.dumps({**{a: s for a, s, _ in made}, lab.active: lab.standby}))
    return made, across, mixed


def test_evacuate_moves_every_pair_and_exits_0(server, lab, zone_pairs):
    """Every pair of the zone moved: exit 0, the Evacuation as JSON; again: nothing to do."""
    made, across, _ = zone_pairs
    args = ("--output", "json", "evacuate", "--zone", lab.zone_a, "--pairs", str(across))
    done = run(server, *args)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert (printed["moved"], printed["failed"], printed["exit_code"]) == (2, 0, 0)
    assert {p["instance"] for p in printed["pairs"]} == {a for a, _, _ in made}
    again = json.loads(run(server, *args).stdout)
    assert (again["moved"], again["unchanged"]) == (0, 2)


def test_a_refused_pair_makes_the_evacuation_exit_3(server, lab, zone_pairs):
    """A pair whose standby is in the zone is refused (standby-in-zone): the others move,
    the command exits 3 (the highest of its pairs) and says so in text too."""
    _, _, mixed = zone_pairs
    done = run(server, "evacuate", "--zone", lab.zone_a, "--pairs", str(mixed))
    assert done.returncode == 3, done.stderr
    assert "2 moved" in done.stdout
    assert "1 refused" in done.stdout
    assert "standby-in-zone" in done.stdout


def test_check_zone_lists_each_pairs_readiness(server, lab, zone_pairs):
    """check --zone: each pair's readiness; every one ready exits 0, one not ready 3."""
    _, across, mixed = zone_pairs
    ready = run(server, "--output", "json", "check", "--zone", lab.zone_a, "--pairs", str(across))
    assert ready.returncode == 0, ready.stderr
    printed = json.loads(ready.stdout)
    assert [p["readiness"]["ready"] for p in printed["pairs"]] == [True, True]
    not_ready = run(server, "check", "--zone", lab.zone_a, "--pairs", str(mixed))
    assert not_ready.returncode == 3, not_ready.stderr
    assert "standby-in-zone" in not_ready.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["evacuate"],
        ["evacuate", "--zone", "us-east-1 a"],
        ["evacuate", "--zone", "us-east-1a", "--pairs", "/nonexistent/pairs.json"],
        ["check", "--zone", "us-east-1a", "i-0123456789abcdef0"],
        ["check", "--zone", "us-east-1a", "--to-instance", "i-0123456789abcdef0"],
        ["check", "--pairs", "/nonexistent/pairs.json"],
        ["check"],
    ],
    ids=[
        "no-zone",
        "bad-zone",
        "no-file",
        "zone-and-instance",
        "zone-and-target",
        "pairs-only",
        "nothing",
    ],
)
def test_malformed_zone_commands_exit_2_before_any_call(server, args):
    """A zone command missing what it needs, or given both forms: exit 2, one line."""
    done = run(server, *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr.count("\n") == 1


def test_an_unknown_zone_exits_2_naming_the_regions_zones(server, lab, zone_pairs):
    """A zone the Region does not have: exit 2, its zones listed."""
    _, across, _ = zone_pairs
    done = run(server, "evacuate", "--zone", "us-east-1q", "--pairs", str(across))
    assert done.returncode == 2
    assert lab.zone_b in done.stderr


def test_a_pairs_file_that_is_not_pairs_exits_2(server, lab, tmp_path):
    """--pairs naming something that is not JSON, or not instance ids: exit 2."""
    for text in ("{not json", '{"i-nope": "i-0123456789abcdef0"}', '["i-0123456789abcdef0"]'):
        bad = tmp_path / "bad.json"
        bad.write_text(text)
        done = run(server, "evacuate", "--zone", lab.zone_a, "--pairs", str(bad))
        assert done.returncode == 2, (text, done.stderr)


def test_no_pair_in_the_zone_exits_0_with_nothing_to_evacuate(server, lab, zone_pairs):
    """No pair's active instance in the zone: exit 0, "nothing to evacuate", no change."""
    _, across, _ = zone_pairs
    done = run(server, "evacuate", "--zone", lab.zone_b, "--pairs", str(across))
    assert done.returncode == 0, done.stderr
    assert "nothing to evacuate" in done.stdout
