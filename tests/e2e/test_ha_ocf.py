"""The Pacemaker agent `eniops-ocf`: ClusterLabs' own `ocf-tester` in each mode, the meta-data
against `ra-api-1.dtd`, and the start/stop/monitor sequence Pacemaker drives, each node in its
own network namespace against a moto server and a fake IMDSv2."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest
from holders import OVERLAY_V6, ec2, eip_holder, ipv6_overlay, primary_eni, route_holder

from eniops.testing import dual_stack, round_trips
from eniops.testing._recorder import Call

AGENT = Path(__file__).resolve().parents[2] / "eniops" / "ha" / "eniops-ocf"
DTD = Path("/usr/share/resource-agents/ra-api-1.dtd")
VIP = "10.0.1.50"
SUCCESS, GENERIC, INSTALLED, CONFIGURED, NOT_RUNNING = 0, 1, 5, 6, 7


def needs(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        if os.environ.get("ENIOPS_REQUIRE_NODES"):
            pytest.fail(f"not installed: {missing} (scripts/test.sh installs them as root)")
        pytest.skip(f"not installed: {missing}")


@pytest.fixture(scope="module")
def agent():
    """The agent where user nobody can read it (ocf-tester runs meta-data as nobody)."""
    folder = tempfile.mkdtemp(prefix="eniops-ocf-")
    os.chmod(folder, 0o755)
    path = Path(folder) / "eniops-ocf"
    shutil.copy(AGENT, path)
    path.chmod(0o755)
    yield path
    shutil.rmtree(folder)


def vip_holder(server, lab, vip=VIP):
    """The instance whose primary ENI has the secondary IP (either family), if any."""
    for instance in (lab.active, lab.standby):
        eni = primary_eni(server, instance)
        ips = [p["PrivateIpAddress"] for p in eni["PrivateIpAddresses"]]
        ips += [a["Ipv6Address"] for a in eni.get("Ipv6Addresses", [])]
        if vip in ips:
            return instance
    return None


def params(mode, value, host, **more):
    """The agent's parameters for `mode` and its resource `value`."""
    key = {"overlay_ipv6": "overlay_ip", "private_ipv6": "private_ip"}.get(mode, mode)
    found = {key: value, "eniops": host.eniops, "eniops_args": f"--endpoint-url {host.server}"}
    return {**found, **more}


def setup(mode, server, lab):
    """The resource of `mode`, on the active instance: its value for the agent."""
    active = primary_eni(server, lab.active)["NetworkInterfaceId"]
    if mode == "overlay_ipv6":
        ipv6_overlay(server, lab, lab.active)
        return OVERLAY_V6.split("/")[0]
    if mode == "private_ip":
        ec2(server).assign_private_ip_addresses(NetworkInterfaceId=active, PrivateIpAddresses=[VIP])
        return VIP
    if mode == "private_ipv6":
        vip = dual_stack(ec2(server), lab)[lab.subnet_a].replace("::/64", "::50")
        ec2(server).assign_ipv6_addresses(NetworkInterfaceId=active, Ipv6Addresses=[vip])
        return vip
    return {"allocation_id": lab.eip, "overlay_ip": lab.overlay}[mode]


def ocf(host, agent, action, values, **env):
    """Run the agent's `action` on the node as Pacemaker does, killed at the action's timeout
    (OCF_RESKEY_CRM_meta_timeout, ms; 60 s unless given)."""
    variables = {f"OCF_RESKEY_{k}": v for k, v in values.items()}
    environment = {
        "OCF_RESOURCE_INSTANCE": "vip",
        "OCF_RESKEY_CRM_meta_timeout": "60000",
        "HA_RSCTMP": str(Path(tempfile.gettempdir()) / f"eniops-ocf-{host.node.name}"),
        **variables,
        **env,
    }
    limit = int(environment["OCF_RESKEY_CRM_meta_timeout"]) / 1000
    return host.node.run([str(agent), action], host.env(**environment), timeout=limit)


def logged_at_error(done, text):
    """Whether the agent logged `text` at ERROR (through ocf-shellfuncs, or its own fallback;
    an exit reason is logged at ERROR by ocf_exit_reason)."""
    marks = ("ERROR: ", " err: ", "ocf-exit-reason:")
    return any(
        any(mark in line for mark in marks) and text in line for line in done.stderr.splitlines()
    )


MODES = ["allocation_id", "overlay_ip", "overlay_ipv6", "private_ip", "private_ipv6"]


@pytest.mark.parametrize("mode", MODES)
def test_ocf_tester_passes(hosts, server, lab, agent, mode):
    """ClusterLabs' ocf-tester, every check, on the standby's node: the resource starts on
    the peer, so the initial monitor and the probe say not running; start takes it; stop
    leaves it not running here."""
    needs("ocf-tester", "xmllint")
    resource = setup(mode, server, lab)
    host = hosts(lab.standby)
    options = []
    for key, value in params(mode, resource, host, peer=lab.active).items():
        options += ["-o", f"{key}={value}"]
    done = host.run(["ocf-tester", "-v", "-n", "vip", *options, str(agent)])
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{agent} passed all tests" in done.stdout, done.stdout
    assert "* rc=" not in done.stdout  # no check failed, optional ones included
    # What the last stop left: not here.
    if mode == "allocation_id":
        assert eip_holder(server, lab) is None
    if mode.startswith("private"):
        assert vip_holder(server, lab, resource) is None
    assert host.node.addresses() == [f"{primary_eni(server, lab.standby)['PrivateIpAddress']}/24"]


def test_the_meta_data_is_valid_against_the_dtd(hosts, lab, agent):
    """xmllint --dtdvalid with ClusterLabs' installed DTD; every parameter and the agent with
    a long and a short description; every action with a timeout."""
    needs("xmllint")
    if not DTD.exists():
        pytest.skip("resource-agents' ra-api-1.dtd is not installed")
    meta = subprocess.run([str(agent), "meta-data"], capture_output=True, text=True, check=True)
    checked = subprocess.run(
        ["xmllint", "--noout", "--dtdvalid", str(DTD), "-"],
        input=meta.stdout,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    import xml.etree.ElementTree as ET

    root = ET.fromstring(meta.stdout)
    for parameter in [root, *root.iter("parameter")]:
        for tag in ("longdesc", "shortdesc"):
            assert (parameter.findtext(tag) or "").strip(), (parameter.get("name"), tag)
    actions = {a.get("name"): a.get("timeout") for a in root.iter("action")}
    assert set(actions) == {"start", "stop", "monitor", "validate-all", "meta-data"}
    assert all(actions.values())


def call_log(tmp_path):
    path = tmp_path / "calls.jsonl"
    return path, {"ENIOPS_TEST_CALL_LOG": str(path), "ENIOPS_TEST_FAULTS": '{"latency": 0.025}'}


def logged(path):
    calls = []
    for line in path.read_text().splitlines():
        found = json.loads(line)
        calls.append(Call(found["operation"], {}, found["at"], found["ended"] or 0.0))
    path.unlink()
    return calls


@pytest.mark.parametrize("mode", MODES)
def test_the_sequence_pacemaker_drives(hosts, server, lab, agent, mode, tmp_path):
    """Start on the active node; stop there (monitor: not running); start on the standby;
    then back to the active node without the standby's stop first (taken from the peer);
    the standby's monitor and probe say not running, never an error."""
    resource = setup(mode, server, lab)
    active, standby = hosts(lab.active), hosts(lab.standby)
    on_active = params(mode, resource, active, peer=lab.standby)
    on_standby = params(mode, resource, standby, peer=lab.active)
    local = {
        "overlay_ip": lab.overlay.split("/")[0] + "/32",
        "overlay_ipv6": OVERLAY_V6,
        "private_ip": VIP + "/24",
        "private_ipv6": f"{resource}/64",
    }.get(mode)

    assert ocf(active, agent, "start", on_active).returncode == SUCCESS
    assert ocf(active, agent, "monitor", on_active).returncode == SUCCESS
    assert ocf(active, agent, "start", on_active).returncode == SUCCESS  # idempotent
    if local:
        assert local in active.node.addresses()
    assert ocf(active, agent, "stop", on_active).returncode == SUCCESS
    assert ocf(active, agent, "stop", on_active).returncode == SUCCESS  # idempotent
    assert ocf(active, agent, "monitor", on_active).returncode == NOT_RUNNING
    if local:
        assert local not in active.node.addresses()
    if mode == "allocation_id":
        assert eip_holder(server, lab) is None

    # The failover Pacemaker drives: the peer's stop done, this node's start, in round trips.
    log, measured = call_log(tmp_path)
    assert ocf(standby, agent, "start", on_standby, **measured).returncode == SUCCESS
    trips = round_trips(logged(log))
    print(f"\n{mode}: start after the peer's stop: {trips} round trips to EC2")
    assert ocf(standby, agent, "monitor", on_standby).returncode == SUCCESS
    here = primary_eni(server, lab.standby)
    if mode == "allocation_id":
        assert eip_holder(server, lab) == lab.standby
    elif mode.startswith("overlay"):
        destination = OVERLAY_V6 if mode == "overlay_ipv6" else lab.overlay
        assert route_holder(server, lab, destination) == here["NetworkInterfaceId"]
    else:
        assert vip_holder(server, lab, resource) == lab.standby

    # Back, without the standby's stop first: taken from the peer. The standby's monitor reads
    # the node: an Elastic IP is gone from IMDS's view of it; an overlay or secondary IP is
    # still configured on its eth0 (Pacemaker stops it there before it starts it elsewhere).
    # With monapi=true the monitor asks EC2, which has it on the active instance.
    assert ocf(active, agent, "start", on_active).returncode == SUCCESS
    on_node = NOT_RUNNING if mode == "allocation_id" else SUCCESS
    assert ocf(standby, agent, "monitor", on_standby).returncode == on_node
    by_api = {**on_standby, "monapi": "true"}
    assert ocf(standby, agent, "monitor", by_api).returncode == NOT_RUNNING
    probe = ocf(standby, agent, "monitor", by_api, OCF_RESKEY_CRM_meta_interval="0")
    assert probe.returncode == NOT_RUNNING
    assert ocf(standby, agent, "stop", on_standby).returncode == SUCCESS
    assert ocf(standby, agent, "monitor", on_standby).returncode == NOT_RUNNING
    assert ocf(active, agent, "monitor", on_active).returncode == SUCCESS


def test_a_holder_that_is_not_a_peer_is_left_alone_and_logged(hosts, server, lab, agent):
    """Held by a third instance: start fails (generic), nothing moves, and the cluster log
    gets eniops' own words and the exit reason."""
    client = ec2(server)
    client.associate_address(
        AllocationId=lab.eip,
        NetworkInterfaceId=primary_eni(server, lab.far)["NetworkInterfaceId"],
        AllowReassociation=True,
    )
    host = hosts(lab.standby)
    done = ocf(host, agent, "start", params("allocation_id", lab.eip, host, peer=lab.active))
    assert done.returncode == GENERIC
    assert eip_holder(server, lab) == lab.far
    assert "ocf-exit-reason:held by an instance that is not a peer" in done.stderr
    assert "expect-mismatch" in done.stderr or lab.far in done.stderr
    # Stop of a resource that another instance holds: not running here, success.
    stop = ocf(host, agent, "stop", params("allocation_id", lab.eip, host, peer=lab.active))
    assert stop.returncode == SUCCESS, stop.stderr
    assert eip_holder(server, lab) == lab.far


def test_a_missing_binary(hosts, lab, agent):
    """Missing eniops: OCF_ERR_INSTALLED, but a probe says not running."""
    host = hosts(lab.standby)
    values = params("allocation_id", lab.eip, host, eniops="/nonexistent/eniops")
    assert ocf(host, agent, "start", values).returncode == INSTALLED
    assert ocf(host, agent, "validate-all", values).returncode == INSTALLED
    probe = ocf(host, agent, "monitor", values, OCF_RESKEY_CRM_meta_interval="0")
    assert probe.returncode == NOT_RUNNING


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"allocation_id": "eipalloc-0123456789abcdef0"}, SUCCESS),
        ({"allocation_id": "eipalloc-nothex"}, CONFIGURED),
        ({}, CONFIGURED),
        ({"allocation_id": "eipalloc-0123456789abcdef0", "overlay_ip": "192.168.1.1"}, CONFIGURED),
        ({"overlay_ip": "192.168.1.1", "interface": "eth9"}, CONFIGURED),
        ({"private_ip": "10.0.1.50", "peer": "i-nope"}, CONFIGURED),
        ({"overlay_ip": "192.168.1.1", "route_tables": "rtb-0123456789abcdef0"}, SUCCESS),
    ],
    ids=["valid", "malformed", "none", "two-kinds", "no-interface", "bad-peer", "overlay"],
)
def test_validate_all_checks_the_configuration_without_aws(hosts, lab, agent, values, code):
    """validate-all never asks AWS (its endpoint here is a closed port)."""
    host = hosts(lab.standby)
    values = {"eniops": host.eniops, "eniops_args": "--endpoint-url http://127.0.0.1:9", **values}
    done = ocf(host, agent, "validate-all", values)
    assert done.returncode == code, done.stderr


def test_unimplemented_actions_and_permissions(agent):
    """Actions the agent does not have are OCF_ERR_UNIMPLEMENTED; it is 755."""
    for action in ("reload", "promote", "demote", "notify"):
        done = subprocess.run([str(agent), action], capture_output=True, check=False)
        assert done.returncode == 3
    assert stat.S_IMODE(AGENT.stat().st_mode) == 0o755


@pytest.mark.parametrize("mode", ["private_ip", "private_ipv6"])
def test_a_tag_naming_the_address_never_makes_it_look_here(hosts, server, lab, agent, mode):
    """The address moved to the peer, and this instance carries a tag whose value is the
    address (`VIP=<it>`): monitor (monapi=true) reads the field that says where it is (its
    primary ENI's addresses), never a text search of what eniops printed, so it is not
    running here."""
    resource = setup(mode, server, lab)
    active = hosts(lab.active)
    on_active = params(mode, resource, active, peer=lab.standby, monapi="yes")
    assert ocf(active, agent, "start", on_active).returncode == SUCCESS
    assert ocf(active, agent, "monitor", on_active).returncode == SUCCESS
    client = ec2(server)
    source = primary_eni(server, lab.active)["NetworkInterfaceId"]
    target = primary_eni(server, lab.standby)["NetworkInterfaceId"]
    if ":" in resource:
        client.unassign_ipv6_addresses(NetworkInterfaceId=source, Ipv6Addresses=[resource])
        client.assign_ipv6_addresses(NetworkInterfaceId=target, Ipv6Addresses=[resource])
    else:
        client.unassign_private_ip_addresses(
            NetworkInterfaceId=source, PrivateIpAddresses=[resource]
        )
        client.assign_private_ip_addresses(NetworkInterfaceId=target, PrivateIpAddresses=[resource])
    client.create_tags(Resources=[lab.active], Tags=[{"Key": "VIP", "Value": resource}])
    assert vip_holder(server, lab, resource) == lab.standby
    assert ocf(active, agent, "monitor", on_active).returncode == NOT_RUNNING


def test_eniops_log_lines_reach_the_cluster_log(hosts, server, lab, agent):
    """The agent runs eniops with -v and hands its lines to ocf_log at their level: a start
    logs the association it made and how long its verification took; a failure is logged at
    ERROR in eniops' own words."""
    host = hosts(lab.standby)
    values = params("allocation_id", lab.eip, host, peer=lab.active)
    done = ocf(host, agent, "start", values)
    assert done.returncode == SUCCESS, done.stderr
    said = [line for line in done.stderr.splitlines() if "AssociateAddress" in line]
    assert said
    assert "verified in" in said[-1]
    refused = ocf(host, agent, "start", {**values, "peer": lab.far})  # held by a non-peer now
    assert refused.returncode == SUCCESS  # here already: nothing taken
    client = ec2(server)
    client.associate_address(
        AllocationId=lab.eip,
        NetworkInterfaceId=primary_eni(server, lab.far)["NetworkInterfaceId"],
        AllowReassociation=True,
    )
    failed = ocf(host, agent, "start", values)
    assert failed.returncode == GENERIC
    errors = [line for line in failed.stderr.splitlines() if "exit 4" in line]
    assert errors, failed.stderr
    assert "Conflict (expect-mismatch)" in errors[0]
    assert "ERROR" in errors[0]


CLOSED = "--endpoint-url http://127.0.0.1:9"  # the EC2 API unreachable: a closed port


@pytest.mark.parametrize("mode", ["allocation_id", "overlay_ip", "private_ip", "private_ipv6"])
def test_an_ec2_api_outage_never_fails_a_monitor_nor_a_stop(hosts, server, lab, agent, mode):
    """The node holds the resource and the EC2 API stops answering: monitor keeps answering
    OCF_SUCCESS from the node itself (monapi=true fails, with an exit reason); stop succeeds
    within its timeout, removes what is local, logs at ERROR where the address still is and
    changes nothing in EC2; the peer's guarded start, with the API back, takes it from here."""
    resource = setup(mode, server, lab)
    standby, active = hosts(lab.standby), hosts(lab.active)
    values = params(mode, resource, standby, peer=lab.active)
    assert ocf(standby, agent, "start", values).returncode == SUCCESS
    before = (eip_holder(server, lab), vip_holder(server, lab, resource))
    down = {**values, "eniops_args": CLOSED}
    for _ in range(3):
        monitored = ocf(standby, agent, "monitor", down, OCF_RESKEY_CRM_meta_timeout="20000")
        assert monitored.returncode == SUCCESS, monitored.stderr
    by_api = ocf(
        standby, agent, "monitor", {**down, "monapi": "true"}, OCF_RESKEY_CRM_meta_timeout="11000"
    )
    assert by_api.returncode == GENERIC
    assert "ocf-exit-reason:" in by_api.stderr
    assert logged_at_error(by_api, "OperationTimeout"), by_api.stderr

    stop = ocf(standby, agent, "stop", down, OCF_RESKEY_CRM_meta_timeout="12000")
    assert stop.returncode == SUCCESS, stop.stderr
    if mode != "overlay_ip":  # an overlay's stop makes no EC2 call
        assert logged_at_error(stop, "the EC2 API did not answer"), stop.stderr
        assert logged_at_error(stop, "is still on this instance, as IMDSv2 shows it"), stop.stderr
    assert (eip_holder(server, lab), vip_holder(server, lab, resource)) == before
    assert standby.node.addresses() == [
        f"{primary_eni(server, lab.standby)['PrivateIpAddress']}/24"
    ]
    assert ocf(standby, agent, "monitor", down).returncode == NOT_RUNNING

    on_active = params(mode, resource, active, peer=lab.standby)
    assert ocf(active, agent, "start", on_active).returncode == SUCCESS
    if mode == "allocation_id":
        assert eip_holder(server, lab) == lab.active
    if mode.startswith("private"):
        assert vip_holder(server, lab, resource) == lab.active


def test_imds_lag_after_a_start_is_tolerated_and_a_loss_is_not(hosts, server, lab, agent):
    """An Elastic IP's monitor reads IMDSv2's public addresses: not shown yet after a start EC2
    verified, it is running (within imds_lag); shown once and then gone, it is not running,
    at once, with an exit reason; IMDS not answering is an error, never "running"."""
    host = hosts(lab.standby)
    values = params("allocation_id", lab.eip, host, peer=lab.active)
    host.imds.hidden.add(lab.public_ip)
    assert ocf(host, agent, "start", values).returncode == SUCCESS
    assert eip_holder(server, lab) == lab.standby
    lagging = ocf(host, agent, "monitor", values)
    assert lagging.returncode == SUCCESS, lagging.stderr
    assert "does not show" in lagging.stderr
    late = ocf(host, agent, "monitor", {**values, "imds_lag": "0"})
    assert late.returncode == NOT_RUNNING
    assert "ocf-exit-reason:" in late.stderr
    host.imds.hidden.clear()
    assert ocf(host, agent, "monitor", values).returncode == SUCCESS
    host.imds.hidden.add(lab.public_ip)  # seen here, then gone: no lag to wait for
    gone = ocf(host, agent, "monitor", values)
    assert gone.returncode == NOT_RUNNING
    assert logged_at_error(gone, "is no longer on this instance"), gone.stderr
    host.imds.hidden.clear()
    blind = ocf(
        host, agent, "monitor", values, AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:9"
    )
    assert blind.returncode == GENERIC
    assert "ocf-exit-reason:cannot read this node's public addresses" in blind.stderr


def test_region_and_profile_are_parameters(hosts, server, lab, agent, tmp_path):
    """region= and profile= reach eniops (--region, --profile): the Elastic IP is not in
    another region; a missing profile is a configuration error; each is checked by
    validate-all for its shape."""
    host = hosts(lab.standby)
    values = params("allocation_id", lab.eip, host, peer=lab.active)
    for bad in ({"region": "nowhere"}, {"profile": "two words"}, {"monapi": "maybe"}):
        assert ocf(host, agent, "validate-all", {**values, **bad}).returncode == CONFIGURED
    elsewhere = ocf(host, agent, "start", {**values, "region": "eu-west-1"})
    assert elsewhere.returncode == GENERIC, elsewhere.stderr
    assert eip_holder(server, lab) == lab.active
    config = tmp_path / "config"
    config.write_text(
        "[profile ha]\nregion = us-east-1\naws_access_key_id = testing\n"
        "aws_secret_access_key = testing\n"
    )
    missing = ocf(host, agent, "start", {**values, "profile": "nope"}, AWS_CONFIG_FILE=str(config))
    assert missing.returncode == CONFIGURED, missing.stderr
    assert eip_holder(server, lab) == lab.active
    done = ocf(host, agent, "start", {**values, "profile": "ha"}, AWS_CONFIG_FILE=str(config))
    assert done.returncode == SUCCESS, done.stderr
    assert eip_holder(server, lab) == lab.standby
