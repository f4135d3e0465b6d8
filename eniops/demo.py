"""`eniops demo`: a failover story on an embedded moto, no AWS account needed.

It builds a small VPC under the strict EC2 layer (`eniops.testing`), then shows each
operation's plan, the guards refusing wrong moves, and the verified result.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from ._errors import EniopsError
from ._inputs import UNASSOCIATED


def run_demo(*, output: str = "text", say: Callable[[str], None] = print) -> dict[str, Any]:
    """Play the story; return a summary of what happened (for tests)."""
    try:
        from moto import mock_aws  # noqa: PLC0415
    except ImportError as err:  # pragma: no cover - depends on the install
        raise EniopsError(
            "the demo needs moto: pip install 'eniops[demo]'", details={"missing": "moto"}
        ) from err
    import boto3  # noqa: PLC0415

    import eniops  # noqa: PLC0415

    from ._render import result_text  # noqa: PLC0415
    from .testing import StrictEc2, build_lab, reset_caches  # noqa: PLC0415

    for key, value in {
        "AWS_ACCESS_KEY_ID": "demo",
        "AWS_SECRET_ACCESS_KEY": "demo",
        "AWS_SESSION_TOKEN": "demo",
    }.items():
        os.environ[key] = value
    summary: dict[str, Any] = {"refused": [], "done": []}

    def show(title: str, result: eniops.Result) -> None:
        say(f"\n== {title}")
        say(
            json.dumps(result.to_dict(), indent=2)
            if output == "json"
            else result_text(result.to_dict())
        )
        (summary["done"] if result.changed else summary.setdefault("planned", [])).append(title)

    def refused(title: str, attempt: Callable[[], Any]) -> None:
        say(f"\n== {title}")
        try:
            attempt()
        except EniopsError as err:
            say(f"refused, as it should be: {type(err).__name__} ({err.reason}): {err.message}")
            summary["refused"].append(err.reason)
            return
        raise AssertionError(f"{title}: the guard did not refuse")  # pragma: no cover

    reset_caches()
    with mock_aws():
        client = boto3.client("ec2", region_name="us-east-1")
        lab = build_lab(client)
        strict = StrictEc2(client)
        strict.hold("DetachNetworkInterface", polls=2)
        strict.hold("AttachNetworkInterface", polls=2)
        say("A VPC with two zones: 'active' and 'standby' in zone a, 'far' in zone b.")
        say(f"Elastic IP {lab.public_ip} ({lab.eip}) is on active ({lab.active}).")
        say(f"Floating ENI {lab.floating_eni} (another subnet) is on active at device index 1.")
        say("The strict layer holds each detach and attach for 2 polls, as EC2 takes time.")

        ec2: dict[str, Any] = {"ec2": client}
        show(
            "1. Plan the Elastic IP failover to standby (reads and checks only)",
            eniops.remap_eip(
                lab.eip, to_instance=lab.standby, expect_current=lab.active, mode="plan", **ec2
            ),
        )
        refused(
            "2. A wrong move: a stale script believes 'far' holds the address",
            lambda: eniops.remap_eip(
                lab.eip, to_instance=lab.standby, expect_current=lab.far, **ec2
            ),
        )
        refused(
            "3. 'Only if nobody holds it' (AllowReassociation=False): the address is taken",
            lambda: eniops.remap_eip(
                lab.eip, to_instance=lab.standby, expect_current=UNASSOCIATED, **ec2
            ),
        )
        show(
            "4. The failover: one AssociateAddress, verified",
            eniops.remap_eip(lab.eip, to_instance=lab.standby, expect_current=lab.active, **ec2),
        )
        show(
            "5. Run it again: already in place, nothing to do",
            eniops.remap_eip(lab.eip, to_instance=lab.standby, expect_current=lab.active, **ec2),
        )
        refused(
            "6. Move the floating ENI to 'far': another availability zone",
            lambda: eniops.move_eni(lab.floating_eni, to_instance=lab.far, **ec2),
        )
        primary = eniops.describe(lab.active, **ec2)["enis"][0]["eni"]
        refused(
            "7. Move active's primary ENI: it cannot leave its instance",
            lambda: eniops.move_eni(primary, to_instance=lab.standby, **ec2),
        )
        show(
            "8. Plan the move of the floating ENI to standby",
            eniops.move_eni(
                lab.floating_eni,
                to_instance=lab.standby,
                expect_current=lab.active,
                mode="plan",
                **ec2,
            ),
        )
        show(
            "9. Move it: detach, wait, attach, wait, verified",
            eniops.move_eni(
                lab.floating_eni, to_instance=lab.standby, expect_current=lab.active, **ec2
            ),
        )
        spare = client.create_network_interface(SubnetId=lab.subnet_a)["NetworkInterface"][
            "NetworkInterfaceId"
        ]
        refused(
            "10. A second ENI from standby's own subnet: asymmetric routing",
            lambda: eniops.attach_eni(spare, instance=lab.standby, **ec2),
        )
        show(
            "11. Instead, plan a secondary private IP on standby's primary ENI",
            eniops.add_secondary_ips(lab.standby, count=1, mode="plan", **ec2),
        )
        show(
            "12. Add it: checked against the subnet, reserved and used addresses, the limit",
            eniops.add_secondary_ips(lab.standby, count=1, **ec2),
        )
        show(
            "13. Fail the whole standby back to active: every EIP and ENI, concurrently",
            eniops.failover_instance(lab.standby, to_instance=lab.active, **ec2),
        )
        show(
            "14. Run it again (EventBridge delivers twice): nothing left to move",
            eniops.failover_instance(lab.standby, to_instance=lab.active, **ec2),
        )
        say(
            f"\nEC2 calls made by eniops in this story: {len(strict.calls)} "
            f"({len([c for c in strict.mutations if not c.dry_run])} of them changes)."
        )
    summary["calls"] = len(strict.calls)
    return summary
