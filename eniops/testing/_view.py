"""What the strict layer reads of the simulated account, through the client it guards.

Reads made here are the layer's own (neither recorded nor checked). Facts that never change
(an instance type's limits, a subnet's range) are read once.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any


class _MotoModel:
    """moto's own model, read in-process: the checks' facts without the cost of a describe
    (moto renders every answer and botocore parses it, a few milliseconds each).

    Used only where moto runs in this process (`mock_aws`); anything it cannot answer is
    read through the client instead.
    """

    def __init__(self, region: str) -> None:
        from moto.ec2.models import ec2_backends  # noqa: PLC0415

        self.region = region
        self.backends = ec2_backends

    def _find(self, lookup: str, resource_id: str) -> Any:
        for account in list(dict.values(self.backends)):
            backend = dict.get(account, self.region)
            if backend is None:
                continue
            try:
                return getattr(backend, lookup)(resource_id)
            except Exception:  # noqa: S112  (not in this account: try the next)
                continue
        return None

    def instance(self, instance_id: str) -> dict[str, Any] | None:
        found = self._find("get_instance", instance_id)
        if found is None:
            return None
        return {
            "InstanceId": found.id,
            "State": {"Name": found.instance_state.name},
            "Placement": {"AvailabilityZone": found.availability_zone},
            "VpcId": found.vpc_id,
            "InstanceType": found.instance_type,
            "NetworkInterfaces": [
                {
                    "NetworkInterfaceId": nic.id,
                    "Attachment": {
                        "AttachmentId": nic.attachment_id,
                        "DeviceIndex": int(index),
                        "NetworkCardIndex": 0,
                        "DeleteOnTermination": bool(nic.delete_on_termination),
                    },
                }
                for index, nic in sorted(found.nics.items())
            ],
        }

    def eni(self, eni_id: str) -> dict[str, Any] | None:
        found = self._find("get_network_interface", eni_id)
        if found is None:
            return None
        shown: dict[str, Any] = {
            "NetworkInterfaceId": found.id,
            "Status": found.status,
            "SubnetId": found.subnet.id,
            "VpcId": found.vpc_id,
            "AvailabilityZone": found.availability_zone,
            "PrivateIpAddress": found.private_ip_address,
            "PrivateIpAddresses": [dict(p) for p in found.private_ip_addresses]
            or [{"PrivateIpAddress": found.private_ip_address, "Primary": True}],
            "TagSet": [{"Key": t["key"], "Value": t["value"]} for t in found.get_tags()],
        }
        if found.instance is not None:
            shown["Attachment"] = {
                "AttachmentId": found.attachment_id,
                "InstanceId": found.instance.id,
                "DeviceIndex": int(found.device_index),
                "NetworkCardIndex": 0,
                "Status": "attached",
                "DeleteOnTermination": bool(found.delete_on_termination),
            }
        return shown


class AccountView:
    """Reads of one moto account, for the rules and the patches."""

    def __init__(self, client: Any, *, in_process: bool) -> None:
        self.client = client
        self._limits: dict[str, dict[str, Any]] = {}
        self._subnets: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.model = _MotoModel(client.meta.region_name) if in_process else None

    def _enis(self, name: str, values: list[str]) -> list[dict[str, Any]]:
        found = self.client.describe_network_interfaces(Filters=[{"Name": name, "Values": values}])
        return [dict(n) for n in found["NetworkInterfaces"]]

    def eni(self, eni_id: str) -> dict[str, Any] | None:
        """One ENI (its addresses, attachment, zone, tags), or None if it does not exist."""
        if self.model is not None:
            with contextlib.suppress(Exception):  # moto's model changed: read it the slow way
                return self.model.eni(eni_id)
        found = self._enis("network-interface-id", [eni_id])
        return found[0] if found else None

    def eni_by_attachment(self, attachment_id: str) -> dict[str, Any] | None:
        """The ENI whose attachment this is, or None."""
        found = self._enis("attachment.attachment-id", [attachment_id])
        return found[0] if found else None

    def enis_in_subnet(self, subnet_id: str) -> list[dict[str, Any]]:
        """Every ENI of a subnet."""
        return self._enis("subnet-id", [subnet_id])

    def instance(self, instance_id: str) -> dict[str, Any] | None:
        """One instance (state, zone, VPC, type, interfaces), or None if it does not exist."""
        if self.model is not None:
            with contextlib.suppress(Exception):  # moto's model changed: read it the slow way
                return self.model.instance(instance_id)
        try:
            found = self.client.describe_instances(InstanceIds=[instance_id])
        except Exception:
            return None
        return dict(found["Reservations"][0]["Instances"][0])

    def limits(self, instance_type: str) -> dict[str, Any]:
        """An instance type's NetworkInfo."""
        with self._lock:
            if instance_type not in self._limits:
                found = self.client.describe_instance_types(InstanceTypes=[instance_type])
                self._limits[instance_type] = dict(found["InstanceTypes"][0]["NetworkInfo"])
            return self._limits[instance_type]

    def subnet(self, subnet_id: str) -> dict[str, Any]:
        """A subnet (its range and zone)."""
        if subnet_id not in self._subnets:
            found = self.client.describe_subnets(SubnetIds=[subnet_id])
            self._subnets[subnet_id] = dict(found["Subnets"][0])
        return self._subnets[subnet_id]

    def addresses(self, name: str, values: list[str]) -> list[dict[str, Any]]:
        """Elastic IPs matching one filter."""
        found = self.client.describe_addresses(Filters=[{"Name": name, "Values": values}])
        return [dict(a) for a in found["Addresses"]]

    def route_table(self, table_id: str) -> dict[str, Any] | None:
        """One route table, or None."""
        found = self.client.describe_route_tables(
            Filters=[{"Name": "route-table-id", "Values": [table_id]}]
        )["RouteTables"]
        return dict(found[0]) if found else None


def ips_of(eni: dict[str, Any]) -> list[str]:
    """An ENI's private IPs, the primary first."""
    return [p["PrivateIpAddress"] for p in eni.get("PrivateIpAddresses", [])] or [
        eni["PrivateIpAddress"]
    ]
