"""Answers moto gets wrong, given as EC2 gives them: describe filters that match any of a
list, by a private IP, by an IPv6 destination, instances by ENI. `ANSWERS` maps an operation
to the answer given instead of moto's (None: moto's own).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from typing import Any

from ._rules import Simulation, canonical

Answer = Callable[[Simulation, dict[str, Any]], dict[str, Any] | None]
#: Filters whose attribute is a list (an ENI's tag keys): moto matches several values as a
#: subset or superset of the list; EC2 matches any of them.
LIST_FILTERS = frozenset({"tag-key"})


def describe_any_of(sim: Simulation, params: dict[str, Any]) -> dict[str, Any] | None:
    """DescribeNetworkInterfaces with several values of a list filter: the union of one
    query per value (EC2's "any of"), or None when moto answers right by itself."""
    filters = params.get("Filters") or []
    split = next(
        (f for f in filters if f.get("Name") in LIST_FILTERS and len(f.get("Values") or []) > 1),
        None,
    )
    if split is None:
        return None
    others = [f for f in filters if f is not split]
    found: dict[str, Any] = {}
    for value in split["Values"]:
        query = {**params, "Filters": [*others, {"Name": split["Name"], "Values": [value]}]}
        query.pop("NextToken", None)
        for entry in sim.view.client.describe_network_interfaces(**query)["NetworkInterfaces"]:
            found.setdefault(entry["NetworkInterfaceId"], entry)
    return {"NetworkInterfaces": list(found.values()), "ResponseMetadata": {"HTTPStatusCode": 200}}


#: ENI filters on every private IP of an ENI (which moto matches on its primary IP only,
#: or does not implement), and the addresses of an ENI each one matches.
IP_FILTERS: dict[str, Callable[[Mapping[str, Any]], set[str]]] = {
    "addresses.private-ip-address": lambda e: {
        p["PrivateIpAddress"] for p in e.get("PrivateIpAddresses", [])
    },
    "private-ip-address": lambda e: {
        p["PrivateIpAddress"] for p in e.get("PrivateIpAddresses", [])
    },
    "ipv6-addresses.ipv6-address": lambda e: {
        str(ipaddress.IPv6Address(a["Ipv6Address"])) for a in e.get("Ipv6Addresses", [])
    },
}


def describe_by_private_ip(sim: Simulation, params: dict[str, Any]) -> dict[str, Any] | None:
    """DescribeNetworkInterfaces filtered by private IP or IPv6 address: EC2 matches any
    address of an ENI, secondary ones included; the rest of the query as moto answers it."""
    filters = params.get("Filters") or []
    by_ip = [f for f in filters if f.get("Name") in IP_FILTERS]
    if not by_ip:
        return describe_any_of(sim, params)
    query = _rest_of(params, by_ip)
    answer = describe_any_of(sim, query) or sim.view.client.describe_network_interfaces(**query)
    wanted = [(IP_FILTERS[f["Name"]], {canonical(v) for v in f.get("Values") or []}) for f in by_ip]
    found = [
        entry
        for entry in answer["NetworkInterfaces"]
        if all(values & on(entry) for on, values in wanted)
    ]
    return {"NetworkInterfaces": found, "ResponseMetadata": {"HTTPStatusCode": 200}}


def _rest_of(params: dict[str, Any], answered: list[Any]) -> dict[str, Any]:
    """The query without the filters answered here (and without a page token: the answer
    is one page), for moto to answer."""
    query = {**params, "Filters": [f for f in params.get("Filters") or [] if f not in answered]}
    query.pop("NextToken", None)
    if not query["Filters"]:
        query.pop("Filters")
    return query


def describe_by_ipv6_destination(sim: Simulation, params: dict[str, Any]) -> dict[str, Any] | None:
    """DescribeRouteTables filtered by an IPv6 route destination, which EC2 answers and moto
    does not implement; the rest of the query as moto answers it."""
    filters = params.get("Filters") or []
    by_v6 = [f for f in filters if f.get("Name") == "route.destination-ipv6-cidr-block"]
    if not by_v6:
        return None
    query = _rest_of(params, by_v6)
    answer = sim.view.client.describe_route_tables(**query)
    wanted = [
        {str(ipaddress.ip_network(v, strict=False)) for v in f.get("Values") or []} for f in by_v6
    ]
    found = [
        table
        for table in answer["RouteTables"]
        if all(
            values
            & {
                str(ipaddress.ip_network(r["DestinationIpv6CidrBlock"], strict=False))
                for r in table.get("Routes", [])
                if r.get("DestinationIpv6CidrBlock")
            }
            for values in wanted
        )
    ]
    return {"RouteTables": found, "ResponseMetadata": {"HTTPStatusCode": 200}}


def describe_instances_by_eni(sim: Simulation, params: dict[str, Any]) -> dict[str, Any] | None:
    """DescribeInstances filtered by `network-interface.network-interface-id`, which EC2
    answers and moto does not implement; the rest of the query as moto answers it."""
    filters = params.get("Filters") or []
    by_eni = [f for f in filters if f.get("Name") == "network-interface.network-interface-id"]
    if not by_eni:
        return None
    query = _rest_of(params, by_eni)
    wanted = [set(f.get("Values") or []) for f in by_eni]
    reservations = []
    for reservation in sim.view.client.describe_instances(**query)["Reservations"]:
        instances = [
            i
            for i in reservation["Instances"]
            if all(
                values & {n["NetworkInterfaceId"] for n in i.get("NetworkInterfaces", [])}
                for values in wanted
            )
        ]
        if instances:
            reservations.append({**reservation, "Instances": instances})
    return {"Reservations": reservations, "ResponseMetadata": {"HTTPStatusCode": 200}}


#: Operation -> an answer given in moto's place when moto would answer wrongly.
ANSWERS: dict[str, Answer] = {
    "DescribeInstances": describe_instances_by_eni,
    "DescribeNetworkInterfaces": describe_by_private_ip,
    "DescribeRouteTables": describe_by_ipv6_destination,
}
