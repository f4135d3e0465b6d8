"""The executor: the plan is every call, apply makes exactly those calls; the shared poller.

For every operation, in a scenario where each of its calls is needed, `plan` lists the calls
(the bookkeeping tags included); `apply`, run on the same state right after, makes exactly
those calls, in that order within each chain, and records each as a step.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from dataclasses import replace

import pytest
from support import more_enis, strict_world

import eniops
from eniops._core._settings import use_settings
from eniops.testing import MUTATING_OPERATIONS, fast_policy


def _dot(world, eni_id):
    """DeleteOnTermination on the ENI's attachment: the move restores it on the target."""
    attachment = world.eni(eni_id)["Attachment"]["AttachmentId"]
    with world.strict.internal() as client:
        client.modify_network_interface_attribute(
            NetworkInterfaceId=eni_id,
            Attachment={"AttachmentId": attachment, "DeleteOnTermination": True},
        )


def _free_floating(world):
    with world.strict.internal() as client:
        attachment = world.eni(world.lab.floating_eni)["Attachment"]["AttachmentId"]
        client.detach_network_interface(AttachmentId=attachment)


def _secondary_on_active(world, ip="10.0.1.77"):
    with world.strict.internal() as client:
        client.assign_private_ip_addresses(
            NetworkInterfaceId=world.primary_eni(world.lab.active), PrivateIpAddresses=[ip]
        )
    return ip


def _eip_on_a_secondary_ip(world):
    ip = _secondary_on_active(world)
    with world.strict.bystander() as client:
        own = client.allocate_address(Domain="vpc")["AllocationId"]
        client.associate_address(
            AllocationId=own,
            NetworkInterfaceId=world.primary_eni(world.lab.active),
            PrivateIpAddress=ip,
        )


#: Each operation: what makes every one of its calls needed, and the call itself.
SCENARIOS = {
    "remap_eip": (
        lambda w: None,
        lambda w, mode: eniops.remap_eip(
            w.lab.eip,
            to_instance=w.lab.standby,
            expect_current=w.lab.active,
            mode=mode,
            ec2=w.client,
        ),
    ),
    "move_eni": (
        lambda w: _dot(w, w.lab.floating_eni),
        lambda w, mode: eniops.move_eni(
            w.lab.floating_eni, to_instance=w.lab.standby, mode=mode, ec2=w.client
        ),
    ),
    "attach_eni": (
        _free_floating,
        lambda w, mode: eniops.attach_eni(
            w.lab.floating_eni, instance=w.lab.standby, mode=mode, ec2=w.client
        ),
    ),
    "detach_eni": (
        lambda w: None,
        lambda w, mode: eniops.detach_eni(w.lab.floating_eni, mode=mode, ec2=w.client),
    ),
    "add_secondary_ips": (
        lambda w: None,
        lambda w, mode: eniops.add_secondary_ips(
            w.lab.standby, ips=["10.0.1.88"], mode=mode, ec2=w.client
        ),
    ),
    "remove_secondary_ips": (
        _secondary_on_active,
        lambda w, mode: eniops.remove_secondary_ips(
            w.lab.active, ips=["10.0.1.77"], mode=mode, ec2=w.client
        ),
    ),
    "failover_instance": (
        lambda w: (_dot(w, w.lab.floating_eni), _eip_on_a_secondary_ip(w), more_enis(w, 1)),
        lambda w, mode: eniops.failover_instance(
            w.lab.active, to_instance=w.lab.standby, mode=mode, ec2=w.client
        ),
    ),
    "move_route": (
        lambda w: None,
        lambda w, mode: eniops.move_route(
            w.lab.overlay, to_instance=w.lab.standby, mode=mode, ec2=w.client
        ),
    ),
}


def _chains(result):
    """Each chain's steps: a composite result's children, or the one chain's."""
    return [child.steps for child in result.children] or [result.steps]


def _matches(planned, made):
    """A made call's parameters are the planned ones; a value known only once an earlier
    change was verified (shown as `<…>` in the plan) stands for whatever it turned out to be."""
    if isinstance(planned, str) and planned.startswith("<") and planned.endswith(">"):
        return True
    if isinstance(planned, dict):
        return (
            isinstance(made, dict)
            and planned.keys() == made.keys()
            and all(_matches(planned[k], made[k]) for k in planned)
        )
    if isinstance(planned, list):
        return (
            isinstance(made, list)
            and len(planned) == len(made)
            and all(_matches(p, m) for p, m in zip(planned, made, strict=True))
        )
    return planned == made


@pytest.mark.parametrize("operation", sorted(SCENARIOS))
def test_the_plan_is_every_call_apply_makes(big_world, operation):
    """plan lists exactly the calls apply then makes: each chain's calls in its order, the
    tags included, and no call that was not listed."""
    world = big_world
    prepare, call = SCENARIOS[operation]
    prepare(world)
    planned = call(world, "plan")
    world.strict.reset_calls()
    applied = call(world, "apply")
    assert applied.changed
    planned_chains = [[(s.action, s.params) for s in steps] for steps in _chains(planned)]
    applied_chains = [[s.action for s in steps] for steps in _chains(applied)]
    assert [[a for a, _ in chain] for chain in planned_chains] == applied_chains
    made = [c for c in world.strict.calls if c.operation in MUTATING_OPERATIONS]
    planned_calls = [call for chain in planned_chains for call in chain]
    assert Counter(f"ec2:{c.operation}" for c in made) == Counter(a for a, _ in planned_calls)
    for action, params in planned_calls:
        assert any(f"ec2:{c.operation}" == action and _matches(params, c.params) for c in made), (
            action,
            params,
        )
    assert all(s.status == "done" for steps in _chains(applied) for s in steps), applied.to_dict()[
        "steps"
    ]


@pytest.mark.parametrize("operation", sorted(SCENARIOS))
def test_dry_run_sends_every_call_ec2_takes_dry_run_for(big_world, operation):
    """dry-run sends each planned call with DryRun=True where EC2 offers it (not those that
    depend on an earlier change), says which it could not, and changes nothing."""
    world = big_world
    prepare, call = SCENARIOS[operation]
    prepare(world)
    world.strict.reset_calls()
    result = call(world, "dry-run")
    assert not result.changed
    steps = [s for steps in _chains(result) for s in steps]
    sent = [c for c in world.strict.calls if c.operation in MUTATING_OPERATIONS]
    assert all(c.dry_run for c in sent)
    checked = [s for s in steps if s.note == "DryRun passed"]
    assert len(checked) == len(sent)
    unchecked = [s for s in steps if s.note != "DryRun passed"]
    for step in unchecked:
        assert step.note in (
            "no DryRun in EC2",
            "depends on an earlier change: not checked by EC2 before it",
        ), step
    if any(s.note == "no DryRun in EC2" for s in steps):
        assert any("EC2 offers no DryRun" in w for w in result.warnings)


# -- the poller -------------------------------------------------------------------------


def _polls_for(world, count):
    """Fail over `count` ENIs with held transitions; return the verification reads."""
    moving = more_enis(world, count - 1)
    world.strict.hold("DetachNetworkInterface", polls=3)
    world.strict.hold("AttachNetworkInterface", polls=3)
    world.strict.reset_calls()
    result = eniops.failover_instance(
        world.lab.active, to_instance=world.lab.standby, ec2=world.client
    )
    assert result.changed
    for eni in [world.lab.floating_eni, *moving]:
        assert world.eni(eni)["Attachment"]["InstanceId"] == world.lab.standby
    return [
        c
        for c in world.strict.calls
        if c.operation == "DescribeNetworkInterfaces"
        and c.params.get("Filters", [{}])[0].get("Name") == "network-interface-id"
    ]


def test_one_poller_reads_every_pending_eni_in_one_call(big_world):
    """Four ENIs waited for together: a poll names all the pending ones at once."""
    polls = _polls_for(big_world, 4)
    assert max(len(c.params["Filters"][0]["Values"]) for c in polls) == 4


def test_polls_do_not_grow_with_the_enis():
    """Verification reads for six ENIs stay near those for one (one poll each would be 6x)."""
    with strict_world("m5.24xlarge") as one:
        single = len(_polls_for(one, 1))
    with strict_world("m5.24xlarge") as six:
        several = len(_polls_for(six, 6))
    assert several < 3 * single, (single, several)


def test_settings_reach_every_worker(world):
    """short_waits() (the test's settings) drive the polls of failover steps run at once."""
    world.strict.hold("DetachNetworkInterface", polls=4)
    world.strict.hold("AttachNetworkInterface", polls=4)
    seen: list[str] = []
    with use_settings(progress=lambda doing, _elapsed: seen.append(doing)):
        eniops.failover_instance(world.lab.active, to_instance=world.lab.standby, ec2=world.client)
    polls = [
        c.at
        for c in world.strict.calls
        if c.operation == "DescribeNetworkInterfaces" and "Filters" in c.params
    ]
    gaps = [b - a for a, b in itertools.pairwise(polls)]
    # The production first delay is 0.1 s and grows to 0.4 s: with it, no poll would follow
    # another within 0.09 s. The median is used, as a busy machine may stretch a few gaps.
    assert sorted(gaps)[len(gaps) // 2] < 0.09, gaps
    assert any(f"{world.lab.floating_eni} to detach" in s for s in seen)
    assert any(f"{world.lab.floating_eni} to attach" in s for s in seen)


def test_the_poller_keeps_within_its_describe_budget(world):
    """With a poll interval far shorter than the budget allows, the describe budget paces the
    polls: over a held transition, no more than the burst plus the refill for the time taken
    (with a 5 ms interval and no budget it would be about 200 polls a second)."""
    world.strict.hold("DetachNetworkInterface", seconds=1.0)
    policy = replace(fast_policy(), poll_cap_s=0.005, poll_describes_per_s=10.0, poll_burst=2.0)
    with use_settings(policy=policy):
        eniops.failover_instance(world.lab.active, to_instance=world.lab.standby, ec2=world.client)
    calls = world.strict.calls
    detach = next(c for c in calls if c.operation == "DetachNetworkInterface")
    attach = next(c for c in calls if c.operation == "AttachNetworkInterface")
    polls = [
        c
        for c in calls
        if c.operation == "DescribeNetworkInterfaces" and detach.ended <= c.at <= attach.at
    ]
    assert len(polls) >= 3  # it did poll the held transition
    assert len(polls) <= 2.0 + 10.0 * (attach.at - detach.ended) + 1, len(polls)


def test_a_change_answered_but_not_yet_waited_for_holds_back_the_first_read(world, monkeypatch):
    """Two route tables replaced at once; the second table's chain is slow to begin its
    check after its answer. The poller still reads both tables in one call: a change counts
    as in flight until its chain has taken the answer and begun its wait, not only until EC2
    answers it."""
    from eniops._executor._chain import ChainRun

    slow_table = world.lab.route_tables[1]
    check = ChainRun.check

    def late_check(self, change, answered):
        if change.params.get("RouteTableId") == slow_table:
            time.sleep(0.05)  # between the answer and the wait: a busy thread
        return check(self, change, answered)

    monkeypatch.setattr(ChainRun, "check", late_check)
    policy = replace(fast_policy(), poll_first_s=0.5)
    with use_settings(policy=policy):
        result = eniops.move_route(
            world.lab.overlay, to_instance=world.lab.standby, ec2=world.client
        )
    assert [s.action for s in result.steps] == ["ec2:ReplaceRoute", "ec2:ReplaceRoute"]
    calls = world.strict.calls
    replaced = max(c.ended for c in calls if c.operation == "ReplaceRoute")
    reads = [c for c in calls if c.operation == "DescribeRouteTables" and c.at >= replaced]
    assert len(reads) == 1, [c.params for c in reads]


def test_every_ec2_call_runs_on_the_pool_and_applying_starts_no_thread(big_world, monkeypatch):
    """Once the first change is sent, nothing starts a thread but the pool (no thread per
    chain, per rider, per call or for the poller), and every call of the operation, reads
    before the plan included, is made on one of the pool's threads."""
    import threading

    from eniops._core import _threads

    started: list[tuple[str, float]] = []
    start = threading.Thread.start

    def recorded(self):
        started.append((self.name, time.monotonic()))
        return start(self)

    more = more_enis(big_world, 3)
    callers: list[str] = []
    monkeypatch.setattr(threading.Thread, "start", recorded)
    big_world.client.meta.events.register(
        "before-call.ec2", lambda **_: callers.append(threading.current_thread().name)
    )
    eniops.failover_instance(
        big_world.lab.active, to_instance=big_world.lab.standby, ec2=big_world.client
    )
    changes = [c for c in big_world.strict.calls if c.operation in MUTATING_OPERATIONS]
    assert len(changes) >= 2 * (len(more) + 1)  # detach and attach of every ENI
    first_change = min(c.at for c in changes)
    late = [name for name, at in started if at >= first_change]
    assert all(name.startswith("eniops-call_") for name in late), late
    assert callers
    assert all(name.startswith("eniops-call_") for name in callers), set(callers)
    assert len(set(callers)) <= _threads.WORKERS


def test_the_command_exits_without_waiting_for_a_call_given_up_on(tmp_path):
    """A call to EC2 abandoned at the deadline may hang until the client's read timeout; the
    `eniops` command exits at once anyway (a plain `sys.exit` would wait for it)."""
    import subprocess
    import sys

    script = tmp_path / "hung.py"
    script.write_text(
        "import sys, threading\n"
        "from eniops import cli\n"
        "from eniops._core import _threads\n"
        "_threads.submit(threading.Event().wait)  # never ends\n"
        "sys.argv = ['eniops', '--version']\n"
        "cli.run()\n"
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()  # the version, printed and flushed before the exit
    # Without the exit it would never end (the subprocess timeout); the slack is for a
    # loaded machine.
    assert time.monotonic() - started < 30
