"""What `describe` returns, as types a checker holds callers to (`mypy --strict`).

`describe` returns one of three shapes, told apart by ``"kind"``: ``"instance"``, ``"eni"``
or ``"eip"``. Types only, and `as_json`: a description is built as JSON data (`describe`
reads a view and names its type), and handed on as that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, TypedDict, cast

if TYPE_CHECKING:
    from .._core._json import JsonDict


class Ipv6Address(TypedDict):
    """An IPv6 address of an ENI, and whether it is the ENI's primary IPv6."""

    address: str
    primary: bool


class ElasticIpOnEni(TypedDict):
    """An Elastic IP associated with one of the ENI's private IPs."""

    public_ip: str
    allocation_id: str
    private_ip: str | None


class _EniOptional(TypedDict, total=False):
    #: Free IPv4 and IPv6 address slots under the type's limits (when attached).
    free_ip_slots: int
    free_ipv6_slots: int
    #: An interrupted move's intent (``eniops:move``), when it has one.
    pending_move: str


class EniLine(_EniOptional):
    """One ENI: where it is attached and the addresses it carries."""

    eni: str
    status: str
    instance: str | None
    attachment_id: str | None
    attachment_status: str | None
    device_index: int | None
    network_card_index: int | None
    subnet: str
    availability_zone: str
    primary_ip: str | None
    secondary_ips: list[str]
    ipv6_addresses: list[Ipv6Address]
    elastic_ips: list[ElasticIpOnEni]
    #: Where eniops last placed it (``eniops:holder``), a hint.
    holder_tag: str | None


class RouteToEni(TypedDict):
    """A route (of the VPC's tables) whose target is the ENI or one of the instance's."""

    route_table: str
    destination: str
    target: str | None
    state: str | None
    eni: str | None


class Limits(TypedDict):
    """The instance type's network limits."""

    max_enis: int
    max_enis_card_0: int
    ipv4_per_eni: int
    ipv6_per_eni: int


class Free(TypedDict):
    """Where another ENI could go: free slots and device indexes on network card 0."""

    eni_slots: int
    device_indexes: list[int]


class InstanceDescription(TypedDict):
    """`describe` of an instance."""

    kind: Literal["instance"]
    id: str
    state: str
    instance_type: str
    availability_zone: str
    vpc: str | None
    limits: Limits
    free: Free
    enis: list[EniLine]
    routes: list[RouteToEni]
    tags: dict[str, str]


class EniDescription(EniLine):
    """`describe` of an ENI."""

    kind: Literal["eni"]
    id: str
    vpc: str
    interface_type: str
    requester_managed: bool
    source_dest_check: bool
    routes: list[RouteToEni]
    tags: dict[str, str]


class AddressDescription(TypedDict):
    """`describe` of an Elastic IP."""

    kind: Literal["eip"]
    id: str
    allocation_id: str
    public_ip: str
    association_id: str | None
    eni: str | None
    instance: str | None
    private_ip: str | None
    tags: dict[str, str]


#: What `describe` returns: narrow it by ``description["kind"]``.
Description = InstanceDescription | EniDescription | AddressDescription


def as_json(description: Description) -> JsonDict:
    """A description as the JSON data it is (its types hold nothing but JSON values)."""
    return cast("JsonDict", description)
