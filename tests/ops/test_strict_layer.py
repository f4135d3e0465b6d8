"""The strict layer itself: it refuses real AWS, and plays what EC2 does and moto does not."""

from __future__ import annotations

import ast
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from support import free_port_url

import eniops.testing
from eniops.testing import NotMoto, StrictEc2, build_lab
from eniops.testing._view import AccountView


def test_refuses_a_client_that_would_reach_aws():
    """Outside mock_aws, a default client would reach AWS: refused, and so is build_lab."""
    client = boto3.client("ec2", region_name="us-east-1")
    with pytest.raises(NotMoto, match="mock_aws"):
        StrictEc2(client)
    with pytest.raises(NotMoto):
        build_lab(client)


def test_refuses_a_local_endpoint_that_is_not_moto():
    """A loopback endpoint that does not answer as moto is refused too."""
    client = boto3.client("ec2", region_name="us-east-1", endpoint_url=free_port_url())
    with pytest.raises(NotMoto, match="moto server"):
        StrictEc2(client)


def _sent(client):
    """Every request the client sends, each answered here with a 599 so that none leaves this
    machine whatever the code under test does (moto, when it answers, answers first)."""
    from botocore.awsrequest import AWSResponse

    sent = []

    def answer(request, **_):
        sent.append(request.url)
        return AWSResponse(request.url, 599, {}, None)

    client.meta.events.register("before-send", answer)
    return sent


@pytest.mark.parametrize(
    ("how", "config"),
    [
        ("fips", {"use_fips_endpoint": True}),
        ("dual-stack", {"use_dualstack_endpoint": True}),
        (
            "vpc-endpoint",
            {"endpoint_url": "https://vpce-0a1b-2c3d.ec2.us-east-1.vpce.amazonaws.com"},
        ),
        ("environment", {}),
        ("loopback-spelt-127.1", {"endpoint_url": "http://127.1:1"}),
        ("passthrough", {}),
    ],
)
def test_refuses_a_client_moto_would_let_through(how, config, monkeypatch):
    """Under mock_aws, a client whose calls moto does not answer (they would leave for the
    real endpoint) is refused by StrictEc2 and build_lab before any request is sent."""
    from botocore.config import Config

    if how == "environment":
        monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", "https://ec2.example.invalid")
    moto_config = (
        {"core": {"passthrough": {"urls": [r"https://ec2\.us-east-1\.amazonaws\.com/.*"]}}}
        if how == "passthrough"
        else None
    )
    options = {
        k: config.pop(k) for k in ("use_fips_endpoint", "use_dualstack_endpoint") if k in config
    }
    with mock_aws(config=moto_config) if moto_config else mock_aws():
        client = boto3.client("ec2", region_name="us-east-1", config=Config(**options), **config)
        sent = _sent(client)
        with pytest.raises(NotMoto, match="moto does not answer"):
            StrictEc2(client)
        with pytest.raises(NotMoto):
            build_lab(client)
    assert sent == []


def test_a_guarded_client_used_after_mock_aws_ended_sends_nothing():
    """mock_aws ended, the strict layer still on the client: its next call is refused before
    a request leaves for the real endpoint."""
    with mock_aws():
        client = boto3.client("ec2", region_name="us-east-1")
        StrictEc2(client)
        client.describe_addresses()
    sent = _sent(client)
    with pytest.raises(NotMoto, match="mock_aws"):
        client.describe_addresses()
    assert sent == []


class _OneAnswer(BaseHTTPRequestHandler):
    """A loopback server that answers /moto-api/config as moto does, and nothing else."""

    def do_GET(self):
        if self.path == "/moto-api/config":
            body = b'{"batch": {"use_docker": true}, "lambda": {"use_docker": true}}'
            self.send_response(201)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def log_message(self, *_):
        pass


def test_one_moto_like_answer_is_not_enough():
    """A server that answers moto's config path but not its dashboard is not taken for moto
    (it could be anything that happens to answer one path)."""
    server = HTTPServer(("127.0.0.1", 0), _OneAnswer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        client = boto3.client("ec2", region_name="us-east-1", endpoint_url=url)
        with pytest.raises(NotMoto, match="moto server"):
            StrictEc2(client)
    finally:
        server.shutdown()
        server.server_close()


def test_its_rules_are_its_own():
    """The layer's rules import nothing of eniops' own checks (a bug there is not mirrored)."""
    folder = Path(eniops.testing.__file__).parent
    for path in folder.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level >= 2:
                assert node.module in ("_state._reads", "_core._settings", "_gateway._limiter"), (
                    path.name,
                    node.module,
                )


def test_duplicate_create_route_is_refused(world):
    """CreateRoute for a destination already routed: RouteAlreadyExists (moto overwrites)."""
    table = world.lab.route_tables[0]
    with pytest.raises(ClientError, match="RouteAlreadyExists"):
        world.client.create_route(
            RouteTableId=table,
            DestinationCidrBlock=world.lab.overlay,
            NetworkInterfaceId=world.primary_eni(world.lab.standby),
        )


@pytest.mark.parametrize("operation", ["create_tags", "delete_tags"])
def test_aws_tags_are_not_anyones_to_write(world, operation):
    """Tag keys starting `aws:` (Auto Scaling's group name) are refused, as EC2 refuses them;
    moto writes them."""
    tag = {"Key": "aws:autoscaling:groupName", "Value": "web"}
    with pytest.raises(ClientError, match="reserved"):
        getattr(world.client, operation)(Resources=[world.lab.active], Tags=[tag])
    tags = world.client.describe_instances(InstanceIds=[world.lab.active])["Reservations"][0]
    assert tag not in tags["Instances"][0].get("Tags", [])


def test_replace_route_needs_a_route(world):
    """ReplaceRoute for a destination the table does not route is refused."""
    with pytest.raises(ClientError, match="CreateRoute instead"):
        world.client.replace_route(
            RouteTableId=world.lab.route_tables[0],
            DestinationCidrBlock="192.168.200.1/32",
            NetworkInterfaceId=world.primary_eni(world.lab.standby),
        )


def test_dry_run_changes_nothing(world):
    """DryRun is answered DryRunOperation and nothing happens (moto would replace the route)."""
    with pytest.raises(ClientError, match="DryRunOperation"):
        world.client.replace_route(
            RouteTableId=world.lab.route_tables[0],
            DestinationCidrBlock=world.lab.overlay,
            NetworkInterfaceId=world.primary_eni(world.lab.standby),
            DryRun=True,
        )
    table = world.client.describe_route_tables(RouteTableIds=[world.lab.route_tables[0]])
    route = next(
        r
        for r in table["RouteTables"][0]["Routes"]
        if r.get("DestinationCidrBlock") == world.lab.overlay
    )
    assert route["NetworkInterfaceId"] == world.primary_eni(world.lab.active)


def test_delete_on_termination_is_shown_as_set(world):
    """ModifyNetworkInterfaceAttribute's DeleteOnTermination shows in describes."""
    attachment = world.eni(world.lab.floating_eni)["Attachment"]["AttachmentId"]
    world.client.modify_network_interface_attribute(
        NetworkInterfaceId=world.lab.floating_eni,
        Attachment={"AttachmentId": attachment, "DeleteOnTermination": True},
    )
    shown = world.client.describe_network_interfaces(NetworkInterfaceIds=[world.lab.floating_eni])
    assert shown["NetworkInterfaces"][0]["Attachment"]["DeleteOnTermination"] is True


def test_termination_tears_down_first(world):
    """Terminating an instance disassociates its Elastic IPs and detaches its secondary ENIs
    (deleting those that delete on termination), as EC2 does before `terminated`."""
    extra = world.client.create_network_interface(SubnetId=world.lab.subnet_a2)
    doomed = extra["NetworkInterface"]["NetworkInterfaceId"]
    with world.strict.internal() as client:
        attachment = client.attach_network_interface(
            NetworkInterfaceId=doomed, InstanceId=world.lab.active, DeviceIndex=2
        )["AttachmentId"]
    world.client.modify_network_interface_attribute(
        NetworkInterfaceId=doomed,
        Attachment={"AttachmentId": attachment, "DeleteOnTermination": True},
    )
    world.client.terminate_instances(InstanceIds=[world.lab.active])
    assert "AssociationId" not in world.address()
    assert world.eni(world.lab.floating_eni)["Status"] == "available"
    with world.strict.internal() as client:
        left = client.describe_network_interfaces(
            Filters=[{"Name": "network-interface-id", "Values": [doomed]}]
        )["NetworkInterfaces"]
    assert left == []


def test_the_model_view_agrees_with_the_describe_view(world):
    """The layer's fast in-process reads show what a describe shows, for what its rules use."""
    fast = world.strict.sim.view
    slow = AccountView(world.client, in_process=False)
    with world.strict.internal():
        for instance_id in (world.lab.active, world.lab.standby):
            quick, full = fast.instance(instance_id), slow.instance(instance_id)
            for key in ("InstanceId", "State", "VpcId", "InstanceType"):
                assert quick[key] == ({"Name": full[key]["Name"]} if key == "State" else full[key])
            assert quick["Placement"]["AvailabilityZone"] == full["Placement"]["AvailabilityZone"]
            assert sorted(
                (n["NetworkInterfaceId"], n["Attachment"]["DeviceIndex"])
                for n in quick["NetworkInterfaces"]
            ) == sorted(
                (n["NetworkInterfaceId"], n["Attachment"]["DeviceIndex"])
                for n in full["NetworkInterfaces"]
            )
        quick, full = fast.eni(world.lab.floating_eni), slow.eni(world.lab.floating_eni)
        for key in ("NetworkInterfaceId", "Status", "SubnetId", "VpcId", "AvailabilityZone"):
            assert quick[key] == full[key], key
        assert quick["Attachment"]["AttachmentId"] == full["Attachment"]["AttachmentId"]
        assert {t["Key"] for t in quick["TagSet"]} == {t["Key"] for t in full["TagSet"]}


def test_strict_layer_refuses_ip_outside_subnet(world):
    """The raw client meets EC2's IP rules."""
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match="not in subnet"):
        world.client.assign_private_ip_addresses(
            NetworkInterfaceId=world.primary_eni(world.lab.standby),
            PrivateIpAddresses=["10.0.2.50"],
        )
    assert isinstance(world.strict, StrictEc2)


def test_the_private_ip_filter_matches_secondary_ips(world):
    """EC2's `addresses.private-ip-address` matches any IP of an ENI (moto: the primary only)."""
    eni = world.primary_eni(world.lab.active)
    world.client.assign_private_ip_addresses(
        NetworkInterfaceId=eni, PrivateIpAddresses=["10.0.1.91"]
    )
    for name in ("addresses.private-ip-address", "private-ip-address"):
        found = world.client.describe_network_interfaces(
            Filters=[{"Name": name, "Values": ["10.0.1.91", "10.0.1.250"]}]
        )["NetworkInterfaces"]
        assert [e["NetworkInterfaceId"] for e in found] == [eni], name
    both = world.client.describe_network_interfaces(
        Filters=[
            {"Name": "addresses.private-ip-address", "Values": ["10.0.1.91"]},
            {"Name": "subnet-id", "Values": ["subnet-0"]},
        ]
    )["NetworkInterfaces"]
    assert both == []


def test_the_ipv6_address_filter_is_answered_as_ec2_answers_it(world, dual):
    """`ipv6-addresses.ipv6-address` (moto: not implemented) matches any IPv6 address of an
    ENI, in any spelling of it."""
    import ipaddress

    eni = world.primary_eni(world.lab.active)
    ip = str(dual[0x31])
    world.client.assign_ipv6_addresses(NetworkInterfaceId=eni, Ipv6Addresses=[ip])
    spelled = ipaddress.IPv6Address(ip).exploded
    found = world.client.describe_network_interfaces(
        Filters=[{"Name": "ipv6-addresses.ipv6-address", "Values": [spelled, str(dual[0x32])]}]
    )["NetworkInterfaces"]
    assert [e["NetworkInterfaceId"] for e in found] == [eni]
    none = world.client.describe_network_interfaces(
        Filters=[{"Name": "ipv6-addresses.ipv6-address", "Values": [str(dual[0x32])]}]
    )["NetworkInterfaces"]
    assert none == []


def test_instances_are_found_by_an_eni_of_theirs(world):
    """`network-interface.network-interface-id` on DescribeInstances (moto: not
    implemented): the instance an ENI is attached to, and nothing for a free ENI."""
    eni = world.lab.floating_eni
    found = world.client.describe_instances(
        Filters=[{"Name": "network-interface.network-interface-id", "Values": [eni]}]
    )["Reservations"]
    assert [i["InstanceId"] for r in found for i in r["Instances"]] == [world.lab.active]
    with world.strict.internal() as client:
        free = client.create_network_interface(SubnetId=world.lab.subnet_a)["NetworkInterface"]
    free_id = free["NetworkInterfaceId"]
    by_free = {"Name": "network-interface.network-interface-id", "Values": [free_id]}
    nothing = world.client.describe_instances(Filters=[by_free])["Reservations"]
    assert nothing == []


class _FakeTime:
    """A clock that moves only when slept on or told to."""

    def __init__(self):
        self.now, self.slept = 100.0, []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_a_round_trip_holds_the_services_work_inside_it(monkeypatch):
    """A call goes half its latency out, then the simulated EC2 works; the answer comes a
    whole latency after it was sent, or when the work is done if that is later."""
    from eniops.testing import _recorder

    fake = _FakeTime()
    monkeypatch.setattr(_recorder, "time", fake)
    due = _recorder.send(0.2)
    assert (due, fake.slept) == (100.2, [0.1])
    fake.now += 0.03  # moto's work, and another call's before it
    _recorder.answer(due)
    assert fake.now == pytest.approx(100.2)
    assert fake.slept[1] == pytest.approx(0.07)
    late = _recorder.send(0.2)
    fake.now += 0.5  # the work ran past the round trip: answered at once
    _recorder.answer(late)
    assert len(fake.slept) == 3
    _recorder.answer(None)  # an internal call: no latency
    assert _recorder.send(0.0) == fake.now
    assert len(fake.slept) == 3


def test_every_call_is_answered_no_sooner_than_its_latency(world):
    """Refused, DryRun or carried out, a call's answer comes its latency after it was sent."""
    world.strict.latency_s = 0.05
    world.client.describe_addresses()
    with pytest.raises(ClientError):
        world.client.associate_address(AllocationId=world.lab.eip, InstanceId="i-0000000000000000f")
    with pytest.raises(ClientError):
        world.client.create_tags(Resources=[world.lab.eip], Tags=[], DryRun=True)
    assert len(world.strict.calls) == 3
    assert all(c.ended - c.at >= 0.05 for c in world.strict.calls), world.strict.calls
