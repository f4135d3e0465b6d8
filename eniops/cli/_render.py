"""Text renderings of results, `show` views and errors, for people reading at 3 a.m."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def as_json(value: Any) -> str:
    """Indented JSON."""
    return json.dumps(value, indent=2, default=str)


def result_text(data: Mapping[str, Any], indent: str = "") -> str:
    """A `Result.to_dict()` as text: verdict, steps, what moved where, warnings."""
    verdict = (
        "CHANGED"
        if data["changed"]
        else ("planned (nothing changed)" if data["mode"] != "apply" else "nothing to do")
    )
    lines = [f"{indent}{data['operation']}: {verdict} [{data['mode']}] in {data['elapsed_s']:.2f}s"]
    for step in data["steps"]:
        params = " ".join(f"{k}={v}" for k, v in step["params"].items())
        note = f"  ({step['note']})" if step.get("note") else ""
        lines.append(f"{indent}  {step['status']:<11} {step['action']} {params}{note}")
    for name, before in data["before"].items():
        lines.extend(
            f"{indent}  {change}" for change in _changes(name, before, data["after"].get(name))
        )
    lines.extend(f"{indent}  warning: {w}" for w in data["warnings"])
    for child in data.get("children", []):
        lines.append(result_text(child, indent + "  "))
    return "\n".join(lines)


def readiness_text(data: Mapping[str, Any]) -> str:
    """A `Readiness.to_dict()` as text: the verdict, every problem, the warnings, and the
    failover's plan when ready."""
    count = len(data["problems"])
    verdict = "READY" if data["ready"] else f"NOT READY: {count} problem{'s' * (count != 1)}"
    lines = [f"check_failover: {verdict} in {data['elapsed_s']:.2f}s"]
    lines.extend(
        f"  {p['reason']:<20} {p['resource'] or '-':<22} {p['message']}" for p in data["problems"]
    )
    lines.extend(f"  warning: {w}" for w in data["warnings"])
    if data["ready"] and data["plan"] is not None:  # not ready: the problems are the story
        lines.append(result_text(data["plan"], "  "))
    return "\n".join(lines)


def evacuation_text(data: Mapping[str, Any]) -> str:
    """An `Evacuation.to_dict()` as text: the counts, then each pair as it ended."""
    if not data["pairs"]:
        lines = [
            f"evacuate {data['zone']}: nothing to evacuate (no pair's active instance is in it)"
        ]
    else:
        lines = [
            f"evacuate {data['zone']}: {data['moved']} moved, {data['unchanged']} unchanged, "
            f"{data['refused']} refused, {data['failed']} failed in {data['elapsed_s']:.2f}s"
        ]
    for pair in data["pairs"]:
        head = f"  {pair['instance']} -> {pair['standby']}: {pair['end']}"
        error = pair.get("error")
        if error is not None:
            lines.append(f"{head}: {error['type']}({error['reason'] or '-'}): {error['message']}")
        else:
            lines.append(head)
            lines.append(result_text(pair["result"], "    "))
    lines.extend(f"  warning: {w}" for w in data["warnings"])
    return "\n".join(lines)


def zone_readiness_text(data: Mapping[str, Any]) -> str:
    """`eniops check --zone`: each pair's readiness."""
    pairs = data["pairs"]
    ready = sum(1 for p in pairs if p["readiness"]["ready"])
    lines = [f"check {data['zone']}: {ready} of {len(pairs)} pairs ready"]
    for pair in pairs:
        lines.append(f"  {pair['instance']} -> {pair['standby']}:")
        lines.append("    " + readiness_text(pair["readiness"]).replace("\n", "\n    "))
    lines.extend(f"  warning: {w}" for w in data["warnings"])
    return "\n".join(lines)


def _changes(name: str, before: Any, after: Any, depth: int = 0) -> list[str]:
    """`name key: old -> new` for what differs between two states (nested one level)."""
    if not isinstance(before, Mapping) or not isinstance(after, Mapping):
        return []
    changes: list[str] = []
    for key, old in before.items():
        new = after.get(key)
        if isinstance(old, Mapping):
            if depth == 0:
                changes.extend(_changes(f"{name} {key}", old, new, depth + 1))
        elif old != new:
            changes.append(f"{name} {key}: {old} -> {new}")
    return changes


def _eni_line(eni: Mapping[str, Any]) -> str:
    index = "-" if eni.get("device_index") is None else eni["device_index"]
    parts = [
        f"#{index} {eni['eni']} {eni['subnet']} ({eni['status']})",
        f"primary {eni['primary_ip']}",
    ]
    if eni.get("secondary_ips"):
        parts.append("secondary " + ", ".join(eni["secondary_ips"]))
    parts.extend(
        f"EIP {e['public_ip']} ({e['allocation_id']}) -> {e['private_ip']}"
        for e in eni.get("elastic_ips", [])
    )
    if "free_ip_slots" in eni:
        parts.append(f"{eni['free_ip_slots']} IPs free")
    if eni.get("pending_move"):
        parts.append(f"PENDING MOVE {eni['pending_move']} (re-run the move to finish it)")
    return "; ".join(parts)


def _route_lines(view: Mapping[str, Any]) -> list[str]:
    return [
        f"  route {r['destination']} -> {r['eni']} in {r['route_table']} ({r['state']})"
        for r in view.get("routes", [])
    ]


def show_text(view: Mapping[str, Any]) -> str:
    """`describe()` output as text: what an operator needs before a move."""
    if view["kind"] == "eip":
        where = (
            f"on {view['eni']} ({view['instance'] or 'no instance'}) at {view['private_ip']}"
            if view["eni"]
            else "not associated"
        )
        holder = view.get("tags", {}).get("eniops:holder")
        suffix = f"; eniops:holder {holder}" if holder else ""
        return f"{view['public_ip']} ({view['allocation_id']}) {where}{suffix}"
    if view["kind"] == "eni":
        owner = view["instance"] or "not attached"
        lines = [
            f"{view['id']} in {view['availability_zone']}, {view['vpc']}: {owner}",
            "  " + _eni_line(view),
        ]
        return "\n".join([*lines, *_route_lines(view)])
    limits, free = view["limits"], view["free"]
    lines = [
        f"{view['id']} ({view['instance_type']}) {view['state']} in "
        f"{view['availability_zone']}, {view['vpc']}",
        f"  limits: {limits['max_enis']} ENIs ({limits['max_enis_card_0']} on card 0), "
        f"{limits['ipv4_per_eni']} IPv4 per ENI",
        f"  free: {free['eni_slots']} ENI slot(s), device indexes "
        f"{', '.join(map(str, free['device_indexes'])) or 'none'}",
    ]
    lines.extend("  " + _eni_line(eni) for eni in view["enis"])
    return "\n".join([*lines, *_route_lines(view)])
