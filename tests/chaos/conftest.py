"""The chaos suite prints its figures at the end of the run."""

from __future__ import annotations


def pytest_terminal_summary(terminalreporter) -> None:
    from test_chaos import FAULTS, STATS, VIOLATIONS

    if not STATS:
        return
    write = terminalreporter.write_line
    terminalreporter.section("chaos")
    write(
        f"operations: {STATS['operations']}  succeeded: {STATS['succeeded']}  "
        f"kills: {STATS['kills']}  re-runs: {STATS['re-runs']}  "
        f"naming an IPv6 address: {STATS['ipv6']}"
    )
    write(
        "by operation: "
        + ", ".join(f"{k[3:]} {v}" for k, v in sorted(STATS.items()) if k.startswith("op "))
    )
    write(
        "errors: "
        + (
            ", ".join(f"{k[6:]} {v}" for k, v in sorted(STATS.items()) if k.startswith("error "))
            or "none"
        )
    )
    write("faults: " + ", ".join(f"{k} {v}" for k, v in sorted(FAULTS.items())))
    write(f"violations: {len(VIOLATIONS)} (must be 0)")
