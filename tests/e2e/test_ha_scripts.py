"""The HA scripts shipped in eniops/ha (keepalived, OCF agents), against a moto server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from cli_process import strict_env
from support import fake_imds

SCRIPTS = Path(__file__).resolve().parents[2] / "eniops" / "ha"


def holder(server, lab):
    client = boto3.client("ec2", region_name="us-east-1", endpoint_url=server)
    address = client.describe_addresses(AllocationIds=[lab.eip])["Addresses"][0]
    eni = address.get("NetworkInterfaceId")
    if not eni:
        return None
    found = client.describe_network_interfaces(NetworkInterfaceIds=[eni])
    return found["NetworkInterfaces"][0]["Attachment"]["InstanceId"]


def move_to(server, lab, instance_id):
    client = boto3.client("ec2", region_name="us-east-1", endpoint_url=server)
    if instance_id is None:
        association = client.describe_addresses(AllocationIds=[lab.eip])["Addresses"][0]
        client.disassociate_address(AssociationId=association["AssociationId"])
        return
    found = client.describe_instances(InstanceIds=[instance_id])["Reservations"][0]
    eni = found["Instances"][0]["NetworkInterfaces"][0]["NetworkInterfaceId"]
    client.associate_address(AllocationId=lab.eip, NetworkInterfaceId=eni, AllowReassociation=True)


@pytest.fixture
def sh(server, lab):
    """Run a shipped script as the standby instance (IMDS says so), on the strict layer."""
    with fake_imds(lab.standby) as imds:

        def run(script, *args, **env):
            environment = strict_env(
                {
                    "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.endpoint,
                    "ENIOPS": f"{sys.executable} -m eniops",
                    **env,
                }
            )
            return subprocess.run(
                ["sh", str(SCRIPTS / script), *args],
                capture_output=True,
                text=True,
                env=environment,
                timeout=120,
                check=False,
            )

        yield run


def notify(sh, server, lab):
    return sh(
        "keepalived-notify-master.sh",
        ENIOPS_EIP=lab.eip,
        ENIOPS_PEER=lab.active,
        ENIOPS_ARGS=f"--endpoint-url {server}",
    )


def test_notify_master_takes_the_address_from_the_peer(sh, server, lab):
    """On the peer: taken (exit 0); run again: nothing to do (exit 0)."""
    assert notify(sh, server, lab).returncode == 0
    assert holder(server, lab) == lab.standby
    assert notify(sh, server, lab).returncode == 0


def test_notify_master_takes_a_free_address(sh, server, lab):
    """Nobody holds it: taken with the 'unassociated' guard."""
    move_to(server, lab, None)
    done = notify(sh, server, lab)
    assert done.returncode == 0, done.stderr
    assert holder(server, lab) == lab.standby


def test_notify_master_leaves_a_third_partys_address_alone(sh, server, lab):
    """Held by neither node: exit 4, nothing changed, and it says why."""
    move_to(server, lab, lab.far)
    done = notify(sh, server, lab)
    assert done.returncode == 4
    assert holder(server, lab) == lab.far
    assert "left alone" in done.stderr


def ocf(sh, server, lab, action, **params):
    """Run the OCF agent for the lab's Elastic IP (unless `params` name another resource)."""
    env = {"OCF_RESKEY_peer": lab.active, "OCF_RESKEY_eniops_args": f"--endpoint-url {server}"}
    if not {"overlay_ip", "private_ip"} & set(params):
        env["OCF_RESKEY_allocation_id"] = lab.eip
    env.update({f"OCF_RESKEY_{k}": v for k, v in params.items()})
    return sh("eniops-ocf", action, **env)


def route_target(server, lab):
    client = boto3.client("ec2", region_name="us-east-1", endpoint_url=server)
    tables = client.describe_route_tables(RouteTableIds=list(lab.route_tables))["RouteTables"]
    found = {
        r.get("NetworkInterfaceId")
        for t in tables
        for r in t["Routes"]
        if r.get("DestinationCidrBlock") == lab.overlay
    }
    (eni,) = found
    return eni


def primary(server, instance_id):
    client = boto3.client("ec2", region_name="us-east-1", endpoint_url=server)
    found = client.describe_instances(InstanceIds=[instance_id])["Reservations"][0]
    return found["Instances"][0]["NetworkInterfaces"][0]


def test_ocf_lifecycle(sh, server, lab):
    """Elastic IP: monitor not running (7); start (0); monitor running (0); stop (0)."""
    assert ocf(sh, server, lab, "monitor").returncode == 7
    assert ocf(sh, server, lab, "start").returncode == 0
    assert holder(server, lab) == lab.standby
    assert ocf(sh, server, lab, "monitor").returncode == 0
    assert ocf(sh, server, lab, "stop").returncode == 0
    assert ocf(sh, server, lab, "validate-all").returncode == 0


def test_ocf_overlay_lifecycle(sh, server, lab):
    """Overlay IP: elsewhere (7), start moves both routes (0), here (0), stop (0)."""
    overlay = {"overlay_ip": lab.overlay}
    assert ocf(sh, server, lab, "monitor", **overlay).returncode == 7
    done = ocf(sh, server, lab, "start", **overlay)
    assert done.returncode == 0, done.stderr
    assert route_target(server, lab) == primary(server, lab.standby)["NetworkInterfaceId"]
    assert ocf(sh, server, lab, "monitor", **overlay).returncode == 0
    assert ocf(sh, server, lab, "stop", **overlay).returncode == 0


def test_ocf_secondary_ip_lifecycle(sh, server, lab):
    """Secondary IP (awsvip): taken from the peer, here (0); stop removes it; elsewhere (7)."""
    vip = "10.0.1.50"
    client = boto3.client("ec2", region_name="us-east-1", endpoint_url=server)
    client.assign_private_ip_addresses(
        NetworkInterfaceId=primary(server, lab.active)["NetworkInterfaceId"],
        PrivateIpAddresses=[vip],
    )
    assert ocf(sh, server, lab, "monitor", private_ip=vip).returncode == 7
    done = ocf(sh, server, lab, "start", private_ip=vip)
    assert done.returncode == 0, done.stderr
    ips = [p["PrivateIpAddress"] for p in primary(server, lab.standby)["PrivateIpAddresses"]]
    assert vip in ips
    assert ocf(sh, server, lab, "monitor", private_ip=vip).returncode == 0
    assert ocf(sh, server, lab, "stop", private_ip=vip).returncode == 0
    assert ocf(sh, server, lab, "monitor", private_ip=vip).returncode == 7


def test_ocf_monitor_tells_an_error_apart(sh, server, lab):
    """An address that does not exist is neither here nor elsewhere: an error code."""
    done = ocf(sh, server, lab, "monitor", allocation_id="eipalloc-0123456789abcdef0")
    assert done.returncode == 1


def test_ocf_refusal_is_generic_error(sh, server, lab):
    """Held by a third party: OCF_ERR_GENERIC (1), nothing changed."""
    move_to(server, lab, lab.far)
    assert ocf(sh, server, lab, "start").returncode == 1
    assert holder(server, lab) == lab.far


@pytest.mark.parametrize(
    ("action", "params", "code"),
    [
        ("start", {"allocation_id": "eipalloc-nothex"}, 6),
        ("start", {"allocation_id": ""}, 6),
        ("start", {"overlay_ip": "192.168.100.10"}, 6),
        ("reload", {}, 3),
        ("meta-data", {}, 0),
    ],
    ids=["malformed", "missing", "two-kinds", "unimplemented", "meta-data"],
)
def test_ocf_codes(sh, server, lab, action, params, code):
    """Configuration errors are OCF_ERR_CONFIGURED; unknown actions OCF_ERR_UNIMPLEMENTED."""
    kwargs = dict(params)
    if "overlay_ip" in kwargs:
        kwargs["allocation_id"] = lab.eip  # two kinds at once
    done = ocf(sh, server, lab, action, **kwargs)
    assert done.returncode == code
    if action == "meta-data":
        assert "<resource-agent" in done.stdout


def test_notify_overlay_moves_the_routes(sh, server, lab):
    """keepalived for an overlay IP: from the peer, the routes come here (exit 0)."""
    done = sh(
        "keepalived-notify-overlay.sh",
        ENIOPS_OVERLAY=lab.overlay,
        ENIOPS_PEER=lab.active,
        ENIOPS_DEV="none",
        ENIOPS_ARGS=f"--endpoint-url {server}",
    )
    assert done.returncode == 0, done.stderr
    assert route_target(server, lab) == primary(server, lab.standby)["NetworkInterfaceId"]


def test_notify_overlay_leaves_a_third_partys_routes_alone(sh, server, lab):
    """Routed to neither node: exit 4, nothing changed."""
    done = sh(
        "keepalived-notify-overlay.sh",
        ENIOPS_OVERLAY=lab.overlay,
        ENIOPS_PEER=lab.far,
        ENIOPS_DEV="none",
        ENIOPS_ARGS=f"--endpoint-url {server}",
    )
    assert done.returncode == 4
    assert route_target(server, lab) == primary(server, lab.active)["NetworkInterfaceId"]


def test_scripts_ship_with_the_package():
    """`eniops ha-script NAME` prints the script as shipped; without a name, lists them."""
    from eniops import cli

    names = cli_output(cli, ["ha-script"]).split()
    assert {"keepalived-notify-master.sh", "keepalived-notify-overlay.sh", "eniops-ocf"} <= set(
        names
    )
    for name in names:
        assert (
            cli_output(cli, ["ha-script", name]).rstrip() == (SCRIPTS / name).read_text().rstrip()
        )


def cli_output(cli, argv):
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(argv) == 0
    return out.getvalue()
