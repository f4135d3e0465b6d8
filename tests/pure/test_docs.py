"""The repository's docs say what the code does, and what the shared contract says."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import eniops
from eniops import _registry
from eniops._core import _keywords
from eniops._core._errors import EXIT_MEANINGS

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference.md"
CONTRACT = ROOT.parent / "shared" / "docs" / "api.md"
#: The common keywords (passed as ``**common``, not in a signature).
COMMON = set(_keywords.COMMON)


def reason_table(text: str) -> list[str]:
    section = text.split("Reason codes of `PreconditionFailed`", 1)[1]
    section = section.split("\n## ", 1)[0]  # the reason tables, up to the next section
    return re.findall(r"^\| `([a-z-]+)` \|", section, flags=re.M)


def exit_table(text: str) -> list[str]:
    section = text.split("| exit | meaning |", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"^\| ([0-9, ]+) \| ", section, flags=re.M)


def signatures(text: str) -> dict[str, list[str]]:
    """Each documented operation and the keyword names its signature line shows."""
    block = text.split("```python", 1)[1].split("```", 1)[0]
    found: dict[str, list[str]] = {}
    for match in re.finditer(r"eniops\.(\w+)\((\w+)(.*?)\) ->", block, flags=re.S):
        name, _, rest = match.groups()
        parts = [p.strip() for p in rest.replace("\n", " ").split(",")]
        found[name] = [p.split("=")[0].strip() for p in parts if re.match(r"^\w+", p)]
    return found


def also_takes(text: str) -> dict[str, list[str]]:
    """Keywords a sentence after the signatures adds ("`name` also takes `kw=()`: ...")."""
    found = re.findall(r"^`(\w+)` also takes `(\w+)=", text, flags=re.M)
    added: dict[str, list[str]] = {}
    for name, keyword in found:
        added.setdefault(name, []).append(keyword)
    return added


def test_reason_codes_are_documented():
    """The reference's reason-code tables are exactly eniops.REASONS, then the reasons only
    check_failover lists, in order."""
    assert reason_table(REFERENCE.read_text()) == [*eniops.REASONS, *eniops.READINESS_REASONS]


def test_exit_codes_are_documented():
    """The reference's exit table is the command line's own table, row for row."""
    section = REFERENCE.read_text().split("| exit | meaning |", 1)[1].split("\n\n", 1)[0]
    rows = re.findall(r"^\| ([0-9, ]+) \| (.+) \|$", section, flags=re.M)
    assert rows == list(EXIT_MEANINGS)


def test_every_operation_and_keyword_is_documented():
    """Each registered operation has its signature in the reference, with its own keywords."""
    text = REFERENCE.read_text()
    documented, added = signatures(text), also_takes(text)
    assert sorted(documented) == sorted(_registry.BY_NAME)
    for spec in _registry.OPERATIONS:
        params = inspect.signature(spec.function).parameters.values()
        own = [p.name for p in params if p.kind is p.KEYWORD_ONLY and p.name not in COMMON]
        assert [*documented[spec.name], *added.get(spec.name, [])] == own, spec.name


def test_every_command_is_documented():
    """Each command of the registry appears in the reference's command-line synopsis."""
    text = REFERENCE.read_text()
    for spec in _registry.OPERATIONS:
        assert re.search(rf"^  {' '.join(spec.command)} ", text, flags=re.M), spec.command


def test_readme_points_to_the_reference():
    """The README links the reference (a path inside the repository)."""
    readme = (ROOT / "README.md").read_text()
    assert "docs/reference.md" in readme
    assert "../shared" not in readme


def commands(text: str) -> list[str]:
    """The command words of a command-line synopsis (``eip remap``, ``check``, ...)."""
    block = text.split("## Command line (`eniops`)", 1)[1].split("```", 2)[1]
    return re.findall(r"^  ([a-z-]+(?: [a-z]+)?) [A-Z\[(-]", block + "\n", flags=re.M)


#: Entries of the shared contract that the code does not have yet. The reference says what the
#: code does, so these are in the contract and not in the reference; an entry listed here that
#: the reference already has, or one that the contract does not have, fails the test below.
NOT_BUILT: dict[str, set[str]] = {
    "reasons": set(),
    "operations": set(),
    "commands": set(),
    "lambda events": set(),
    "metrics": set(),
}


def lambda_events(text: str) -> list[str]:
    """The first column of the Lambda's event table."""
    section = text.split("| event | what the handler does |", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"^\| ([^-|][^|]*?) \| ", section, flags=re.M)


def metrics(text: str) -> list[str]:
    """The metric names the Lambda section lists (not the dimensions and properties it
    names beside them)."""
    words = " ".join(text.split())
    sentence = words.split("embedded-metric-format log lines", 1)[1].split("one count per", 1)[0]
    return re.findall(r"(?<!dimension )(?<!property )`([A-Z]\w+)`", sentence)


def contract_parts(text: str) -> dict[str, list[str]]:
    return {
        "reasons": reason_table(text),
        "operations": list(signatures(text)),
        "commands": commands(text),
        "lambda events": lambda_events(text),
        "metrics": metrics(text),
    }


def test_the_metrics_documented_are_the_ones_the_handler_emits():
    emitted = set()
    for path in (ROOT / "eniops" / "aws_lambda").glob("*.py"):
        emitted |= set(re.findall(r'\.metric\("(\w+)"', path.read_text()))
    assert sorted(emitted) == sorted(metrics(REFERENCE.read_text()))


@pytest.mark.skipif(
    not CONTRACT.exists(), reason="the shared contract is not beside this checkout (a plain clone)"
)
@pytest.mark.parametrize("part", sorted(NOT_BUILT))
def test_the_reference_keeps_the_contract(part):
    """Where the shared contract is beside the checkout, the reference has each of its entries
    (reasons, operations, commands) in the same order, except those listed as not built yet."""
    contract = contract_parts(CONTRACT.read_text())[part]
    reference = contract_parts(REFERENCE.read_text())[part]
    pending = NOT_BUILT[part]
    assert pending <= set(contract), f"listed as not built but not in the contract: {pending}"
    assert not pending & set(reference), f"built already, drop from NOT_BUILT: {pending}"
    assert reference == [entry for entry in contract if entry not in pending]


@pytest.mark.skipif(
    not CONTRACT.exists(), reason="the shared contract is not beside this checkout (a plain clone)"
)
def test_the_reference_keeps_the_contracts_exit_codes_and_signatures():
    """Same exit codes; each built operation with the contract's keyword names."""
    contract, reference = CONTRACT.read_text(), REFERENCE.read_text()
    assert exit_table(reference) == exit_table(contract)
    documented = signatures(reference)
    for name, keywords in signatures(contract).items():
        if name not in NOT_BUILT["operations"]:
            assert documented[name] == keywords, name
    assert also_takes(reference) == also_takes(contract)


README = ROOT / "README.md"


def test_the_quick_start_is_two_commands_that_exist():
    """Exactly two commands, each a script of the repository that sets itself up."""
    section = README.read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["./scripts/demo.sh", "./scripts/test.sh"]
    for command in commands:
        script = ROOT / command
        assert script.exists()
        assert "_venv.sh" in script.read_text()  # builds its own environment


def test_the_readme_iam_table_is_what_the_operations_declare():
    """Each row of the README's IAM table is exactly `eniops iam-policy` for that operation."""
    section = README.read_text().split("## IAM policy per operation", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `(\w+)` \| (.+) \|$", section, flags=re.M))
    assert set(rows) == set(_registry.BY_NAME)
    for name, cell in rows.items():
        documented = set(re.findall(r"`(ec2:\w+)`", cell))
        assert documented == set(_registry.actions_for([name])), name


def test_each_table_is_said_once():
    """The exit table, the command-line synopsis and "Guards and races" are said in the
    reference and nowhere else (the README and the rest link to it)."""
    docs = [README, ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
    for marker in ("| exit | meaning |", "## Guards and races", "\neniops [--region R]"):
        assert [p.name for p in docs if marker in p.read_text()] == ["reference.md"], marker


def test_the_readme_is_short_and_for_users():
    """The README (also the package's page) stays short, 200 lines at most (a ceiling, not
    a target); contributor material is in CONTRIBUTING.md."""
    text = README.read_text()
    assert len(text.splitlines()) <= 200
    assert "## Benchmarks" not in text
    assert "CONTRIBUTING.md" in text


def test_the_readme_names_the_handlers_own_actions():
    """The README's IAM section lists what the Lambda handler calls besides the operations."""
    from eniops.aws_lambda._config import HANDLER_ACTIONS

    text = README.read_text().split("## IAM policy per operation", 1)[1].split("\n## ", 1)[0]
    for action in HANDLER_ACTIONS:
        assert action.split(":")[1] in text, action
