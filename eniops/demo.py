"""`eniops demo`: a failover story on an embedded moto, no AWS account needed.

It builds a small VPC under the strict EC2 layer (`eniops.testing`), then shows each
operation's plan, the guards refusing wrong moves, an interrupted move resumed, the
cross-zone story (an Elastic IP cannot follow to another zone; an overlay IP can), a
dual-stack step (an IPv6 overlay's routes, an IPv6 address moved in two steps), and the
verified results.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypedDict

import eniops

from ._core._errors import EniopsError
from ._core._inputs import UNASSOCIATED
from ._core._keywords import ReadKeywords
from ._core._result import Readiness, Result
from ._gateway import build_client
from ._state._tags import MOVE_TAG, MoveIntent
from .cli._render import readiness_text, result_text

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

    from .testing import StrictEc2
    from .testing._lab import Lab

Expect = Literal["done", "refused", "say", "ready", "not-ready"]
#: The IPv6 overlay address of the dual-stack scenes.
OVERLAY_V6 = "2001:db8::10/128"


class Summary(TypedDict):
    """What came of the story (for tests): the reason codes of the refusals in order, how
    many moves changed something, each check's problems, and EC2 calls made."""

    refused: list[str | None]
    changed: int
    checks: list[list[str]]
    calls: int


@dataclass(frozen=True)
class Scene:
    """One step of the story: what it shows, what to run, and what must come of it."""

    title: str
    run: Callable[[], Result | Readiness | str]
    expect: Expect = "done"


def _secondary_ip(instance_id: str, ec2: ReadKeywords) -> tuple[str, str]:
    """An instance's primary ENI and its first secondary private IP."""
    found = eniops.describe(instance_id, **ec2)
    if found["kind"] != "instance":
        raise AssertionError(f"{instance_id} is described as an {found['kind']}")
    primary = found["enis"][0]
    return primary["eni"], primary["secondary_ips"][0]


def _scenes(lab: Lab, ec2: ReadKeywords, extra: dict[str, str]) -> list[Scene]:
    return [
        *_check_scenes(lab, ec2),
        *_eip_scenes(lab, ec2),
        *_eni_scenes(lab, ec2, extra),
        *_zone_scenes(lab, ec2),
        Scene(
            "After the failover: would failing over from active to standby work again?",
            lambda: eniops.check_failover(lab.active, to_instance=lab.standby, **ec2),
            "ready",
        ),
        *_release_scenes(lab, ec2),
        *_dual_stack_scenes(lab, ec2, extra),
    ]


def _dual_stack_scenes(lab: Lab, ec2: ReadKeywords, extra: dict[str, str]) -> list[Scene]:
    a, b, far, v6 = lab.active, lab.standby, lab.far, extra["ipv6"]
    return [
        Scene(
            "Dual stack: the IPv6 overlay address's /128 routes move to standby",
            lambda: eniops.move_route(OVERLAY_V6, to_instance=b, expect_current=a, **ec2),
        ),
        Scene(
            f"Give active's primary ENI the IPv6 address {v6}",
            lambda: eniops.add_secondary_ips(a, ips=[v6], **ec2),
        ),
        Scene(
            "Take it 'from far' for standby: refused, active holds it",
            lambda: eniops.add_secondary_ips(
                b, ips=[v6], expect_current=far, allow_reassignment=True, **ec2
            ),
            "refused",
        ),
        Scene(
            "Move it to standby: EC2 cannot reassign IPv6, so eniops tags its intent, "
            "unassigns, assigns and verifies (a killed run is finished by running it again)",
            lambda: eniops.add_secondary_ips(
                b, ips=[v6], expect_current=a, allow_reassignment=True, **ec2
            ),
        ),
    ]


def _release_scenes(lab: Lab, ec2: ReadKeywords) -> list[Scene]:
    a, b = lab.active, lab.standby
    return [
        Scene(
            "Maintenance: a stale script releases the Elastic IP 'from standby'",
            lambda: eniops.release_eip(lab.eip, expect_current=b, **ec2),
            "refused",
        ),
        Scene(
            "Released from its real holder: one DisassociateAddress by its association id, "
            "confirmed, its eniops:holder tag removed",
            lambda: eniops.release_eip(lab.eip, expect_current=a, **ec2),
        ),
        Scene(
            "Released again: nothing holds it, nothing to do",
            lambda: eniops.release_eip(lab.eip, expect_current=a, **ec2),
        ),
    ]


def _check_scenes(lab: Lab, ec2: ReadKeywords) -> list[Scene]:
    a, b = lab.active, lab.standby

    def stopped_standby() -> Readiness:
        client = ec2["ec2"]
        assert client is not None  # the demo's own
        client.stop_instances(InstanceIds=[b])
        try:
            return eniops.check_failover(a, to_instance=b, **ec2)
        finally:
            client.start_instances(InstanceIds=[b])

    return [
        Scene(
            "Before anything fails: would a failover from active to standby work now? "
            "(every call tried with DryRun=True)",
            lambda: eniops.check_failover(a, to_instance=b, **ec2),
            "ready",
        ),
        Scene(
            "Someone stops the standby for maintenance: the same check lists why not "
            "(then the standby is started again)",
            stopped_standby,
            "not-ready",
        ),
    ]


def _eip_scenes(lab: Lab, ec2: ReadKeywords) -> list[Scene]:
    a, b, far = lab.active, lab.standby, lab.far
    return [
        Scene(
            "Plan the Elastic IP failover to standby (reads and checks only)",
            lambda: eniops.remap_eip(lab.eip, to_instance=b, expect_current=a, mode="plan", **ec2),
        ),
        Scene(
            "A wrong move: a stale script believes 'far' holds the address",
            lambda: eniops.remap_eip(lab.eip, to_instance=b, expect_current=far, **ec2),
            "refused",
        ),
        Scene(
            "'Only if nobody holds it' (AllowReassociation=False): the address is taken",
            lambda: eniops.remap_eip(lab.eip, to_instance=b, expect_current=UNASSOCIATED, **ec2),
            "refused",
        ),
        Scene(
            "The failover: one AssociateAddress, verified, then tagged eniops:holder",
            lambda: eniops.remap_eip(lab.eip, to_instance=b, expect_current=a, **ec2),
        ),
        Scene(
            "Run it again: already in place, nothing to do",
            lambda: eniops.remap_eip(lab.eip, to_instance=b, expect_current=a, **ec2),
        ),
    ]


def _eni_scenes(lab: Lab, ec2: ReadKeywords, extra: dict[str, str]) -> list[Scene]:
    a, b, far = lab.active, lab.standby, lab.far
    return [
        Scene(
            "Move the floating ENI to 'far': another availability zone",
            lambda: eniops.move_eni(lab.floating_eni, to_instance=far, **ec2),
            "refused",
        ),
        Scene(
            "Move active's primary ENI: it cannot leave its instance",
            lambda: eniops.move_eni(extra["primary"], to_instance=b, **ec2),
            "refused",
        ),
        Scene(
            "Move the floating ENI: intent tag, detach, wait, attach, wait, verified",
            lambda: eniops.move_eni(lab.floating_eni, to_instance=b, expect_current=a, **ec2),
        ),
        Scene(
            "A move killed after its detach: the ENI carries its intent (eniops:move)",
            lambda: "\n".join(
                f"  {key}: {value}"
                for key, value in eniops.describe(lab.floating_eni, **ec2).items()
                if key in ("status", "instance", "pending_move")
            ),
            "say",
        ),
        Scene(
            "The same command again completes it, at the recorded device index",
            lambda: eniops.move_eni(lab.floating_eni, to_instance=a, expect_current=b, **ec2),
        ),
        Scene(
            "A second ENI from standby's own subnet: asymmetric routing",
            lambda: eniops.attach_eni(extra["spare"], instance=b, **ec2),
            "refused",
        ),
        Scene(
            "Instead, a secondary private IP on standby's primary ENI",
            lambda: eniops.add_secondary_ips(b, count=1, **ec2),
        ),
    ]


def _zone_scenes(lab: Lab, ec2: ReadKeywords) -> list[Scene]:
    a, b, far = lab.active, lab.standby, lab.far
    return [
        Scene(
            "Put the Elastic IP on that secondary IP: it now moves with its private IP",
            lambda: eniops.remap_eip(
                lab.eip,
                to_eni=_secondary_ip(b, ec2)[0],
                private_ip=_secondary_ip(b, ec2)[1],
                expect_current=b,
                **ec2,
            ),
        ),
        Scene(
            "Fail standby over to 'far' in zone b: a private IP cannot leave its subnet, so "
            "the whole failover is refused before any change",
            lambda: eniops.failover_instance(b, to_instance=far, **ec2),
            "refused",
        ),
        Scene(
            "An overlay IP crosses zones: its routes move to 'far' (two route tables)",
            lambda: eniops.move_route(lab.overlay, to_instance=far, expect_current=a, **ec2),
        ),
        Scene(
            "Fail standby back to active: the secondary IP with its Elastic IP, at once",
            lambda: eniops.failover_instance(b, to_instance=a, **ec2),
        ),
        Scene(
            "Run it again (EventBridge delivers twice): nothing left to move",
            lambda: eniops.failover_instance(b, to_instance=a, **ec2),
        ),
    ]


def _interrupt(client: EC2Client, lab: Lab) -> None:
    """Leave the floating ENI as a killed move from standby would: detached, intent tagged."""
    eni = client.describe_network_interfaces(NetworkInterfaceIds=[lab.floating_eni])
    attachment = eni["NetworkInterfaces"][0]["Attachment"]
    intent = MoveIntent(lab.standby, lab.active, int(attachment["DeviceIndex"]), False)
    client.create_tags(
        Resources=[lab.floating_eni], Tags=[{"Key": MOVE_TAG, "Value": intent.format()}]
    )
    client.detach_network_interface(AttachmentId=attachment["AttachmentId"])


def _play(
    scene: Scene, say: Callable[[str], None], output: str
) -> Result | Readiness | str | EniopsError:

    try:
        outcome = scene.run()
    except EniopsError as err:
        if scene.expect != "refused":
            raise
        say(f"refused, as it should be: {type(err).__name__} ({err.reason}): {err.message}")
        return err
    if scene.expect == "refused":
        raise AssertionError(f"{scene.title}: the guard did not refuse")
    if isinstance(outcome, str):
        say(outcome)
        return outcome
    data = outcome.to_dict()
    if "ready" in data:
        if data["ready"] != (scene.expect == "ready"):
            raise AssertionError(f"{scene.title}: expected {scene.expect}, got {data}")
        text = readiness_text(data)
    else:
        text = result_text(data)
    say(json.dumps(data, indent=2) if output == "json" else text)
    return outcome


def run_demo(*, output: str = "text", say: Callable[[str], None] = print) -> Summary:
    """Play the story; return a summary of what happened (for tests)."""
    try:
        # Lazy: moto is optional (the `demo` extra): its absence is said, not a traceback.
        from moto import mock_aws  # noqa: PLC0415
    except ImportError as err:  # pragma: no cover - depends on the install
        raise EniopsError(
            "the demo needs moto: pip install 'eniops[demo]'", details={"missing": "moto"}
        ) from err

    # Lazy: moto is optional (the `demo` extra); its absence is said above.
    from .testing import StrictEc2, build_lab  # noqa: PLC0415

    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        os.environ[key] = "demo"
    summary: Summary = {"refused": [], "changed": 0, "checks": [], "calls": 0}
    with mock_aws():
        client = build_client(region="us-east-1")
        lab = build_lab(client)
        strict = StrictEc2(client)
        strict.hold("DetachNetworkInterface", polls=2)
        strict.hold("AttachNetworkInterface", polls=2)
        _introduce(lab, say)
        extra = _extra(lab, strict)
        for number, scene in enumerate(_scenes(lab, ReadKeywords(ec2=client), extra), start=1):
            say(f"\n== {number}. {scene.title}")
            if "killed after its detach" in scene.title:
                with strict.internal() as raw:
                    _interrupt(raw, lab)
            outcome = _play(scene, say, output)
            if isinstance(outcome, EniopsError):
                summary["refused"].append(outcome.reason)
            elif isinstance(outcome, Readiness):
                summary["checks"].append([p.reason for p in outcome.problems])
            elif getattr(outcome, "changed", False):
                summary["changed"] += 1
        mutations = [c for c in strict.mutations if not c.dry_run]
        say(
            f"\nEC2 calls made by eniops in this story: {len(strict.calls)} "
            f"({len(mutations)} of them changes)."
        )
    summary["calls"] = len(strict.calls)
    return summary


def _introduce(lab: Lab, say: Callable[[str], None]) -> None:
    say("A VPC with two zones: 'active' and 'standby' in zone a, 'far' in zone b.")
    say(f"Elastic IP {lab.public_ip} ({lab.eip}) is on active ({lab.active}).")
    say(f"Floating ENI {lab.floating_eni} (another subnet) is on active at device index 1.")
    say(f"Overlay IP {lab.overlay} is routed to active's primary ENI in two route tables.")
    say(f"IPv6 overlay {OVERLAY_V6} is routed to active's primary ENI too (a dual-stack VPC).")
    say("The strict layer holds each detach and attach for 2 polls, as EC2 takes time.")


def _extra(lab: Lab, strict: StrictEc2) -> dict[str, str]:
    """What some scenes act on: active's primary ENI, a spare ENI in standby's subnet, an
    IPv6 address of the (now dual-stack) subnet, the IPv6 overlay routed to active."""
    # Lazy: moto is optional (the `demo` extra); the demo imported it already.
    from .testing import dual_stack  # noqa: PLC0415

    with strict.internal() as raw:
        ranges = dual_stack(raw, lab)
        primary = raw.describe_instances(InstanceIds=[lab.active])["Reservations"][0]["Instances"][
            0
        ]["NetworkInterfaces"][0]["NetworkInterfaceId"]
        spare = raw.create_network_interface(SubnetId=lab.subnet_a)["NetworkInterface"][
            "NetworkInterfaceId"
        ]
        for table in lab.route_tables:
            raw.create_route(
                RouteTableId=table, DestinationIpv6CidrBlock=OVERLAY_V6, NetworkInterfaceId=primary
            )
    ipv6 = ranges[lab.subnet_a].replace("::/64", "::60")
    return {"primary": primary, "spare": spare, "ipv6": ipv6}
