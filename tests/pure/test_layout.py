"""The package's shape: no import cycle, layers pointing down, short functions, one version."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import importgraph
import lambda_bundle
import pytest

import eniops

PACKAGE = Path(eniops.__file__).parent
#: The pure core: the core itself, EC2 state's model, views, tags and shared rules, and plans
#: as data. `_state._reads` sits in `_state` beside the model it fills, but reads over the
#: gateway, so it is not pure.
PURE_PACKAGES = ("eniops._core", "eniops._state", "eniops._plan")
NOT_PURE = {"eniops._state._reads"}
#: The adapters: the command line (its parser, options, completion, rendering and config
#: files), the Lambda adapter, the demo, IMDS.
ADAPTER_PACKAGES = ("eniops.cli", "eniops.aws_lambda", "eniops.demo", "eniops._imds")


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def _core(module: str) -> bool:
    return _within(module, PURE_PACKAGES) and module not in NOT_PURE


def test_the_top_level_reads_as_the_design():
    """`ls eniops/` shows the layers: packages by concept, and at the top only the package's
    face, the registry every surface reads, and two adapters of one module each."""
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    packages = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
    assert modules == ["__init__.py", "__main__.py", "_imds.py", "_registry.py", "demo.py"]
    assert packages == [
        "_core",
        "_executor",
        "_gateway",
        "_ops",
        "_plan",
        "_state",
        "aws_lambda",
        "cli",
        "testing",
    ]


def test_no_package_hides_a_module_of_its_own():
    """No name a package's `__init__` defines is also one of its modules': importing the
    module would replace the name (or the name the module) for every caller."""
    clashes = []
    for init in PACKAGE.rglob("__init__.py"):
        modules = {p.stem for p in init.parent.glob("*.py")} | {
            p.name for p in init.parent.iterdir() if (p / "__init__.py").exists()
        }
        for node in ast.parse(init.read_text()).body:
            names = []
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names = [node.name]
            elif isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            clashes += [f"{init.parent.name}.{n}" for n in names if n in modules]
    assert clashes == []


def test_no_import_cycle():
    """No module imports itself through others, lazy imports included."""
    assert importgraph.cycles(importgraph.graph()) == []


def test_layers_point_down():
    """The pure core imports only the core; nothing below the adapters imports them."""
    edges = importgraph.graph()
    assert any(_core(m) for m in edges)
    assert any(_within(m, ADAPTER_PACKAGES) for m in edges)
    for module, imports in edges.items():
        if _core(module):
            assert [i for i in imports if not _core(i)] == [], module
        if not _within(module, ADAPTER_PACKAGES) and module != "eniops.__main__":
            assert [i for i in imports if _within(i, ADAPTER_PACKAGES)] == [], module


def _third_party(path: Path) -> set[str]:
    """Top-level packages a module imports at run time (not those for type checking only)."""
    tree = ast.parse(path.read_text())
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING"
        for inner in ast.walk(node)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_only_the_gateway_talks_to_boto3():
    """Among the product's modules only `_gateway` imports boto3, botocore or tenacity
    (the command line's IMDS client retries with tenacity too; `eniops.testing` drives moto)."""
    sdk = {"boto3", "botocore"}
    for path in PACKAGE.rglob("*.py"):
        module = importgraph.module_name(path)
        if module.startswith("eniops.testing"):
            continue
        used = _third_party(path)
        if module.startswith("eniops._gateway"):
            continue
        assert not used & sdk, (module, used & sdk)
        if module != "eniops._imds":
            assert "tenacity" not in used, module


def test_every_sleep_goes_through_the_clock():
    """Outside `eniops.testing`, only the injectable clock (`_settings.Clock`, which a stop
    request cuts short) calls `time.sleep`; nothing imports `sleep` by name."""
    sleeping = []
    for path in PACKAGE.rglob("*.py"):
        if importgraph.module_name(path).startswith("eniops.testing"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "time":
                assert "sleep" not in {a.name for a in node.names}, path
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "sleep"
                and isinstance(node.value, ast.Name)
                and node.value.id == "time"
            ):
                sleeping.append(path.name)
    assert sleeping == ["_settings.py"]


def _lengths(tree: ast.AST, kinds: tuple[type, ...]) -> list[tuple[str, int]]:
    return [
        (node.name, node.end_lineno - node.lineno + 1)
        for node in ast.walk(tree)
        if isinstance(node, kinds)
    ]


#: Ceilings that catch a runaway, not targets to meet: the sizes are for reading (CONTRIBUTING
#: reports them), and code shaped to fit a line count to the line helps no one.
CEILINGS = {"function": 60, "class": 150, "module": 500}


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_code_stays_small(path):
    """No function runs past 60 lines, no class past 150, no module past 500, none exempt:
    each says one thing."""
    text = path.read_text()
    tree = ast.parse(text)
    functions = _lengths(tree, (ast.FunctionDef, ast.AsyncFunctionDef))
    classes = _lengths(tree, (ast.ClassDef,))
    assert [(n, length) for n, length in functions if length > CEILINGS["function"]] == []
    assert [(n, length) for n, length in classes if length > CEILINGS["class"]] == []
    assert len(text.splitlines()) <= CEILINGS["module"]


def test_arguments_are_followed_by_name_not_by_string():
    """Below the command line and the Lambda, an operation's arguments travel as parameters
    and attributes: no public function hands on its `locals()`, and no request is parsed
    from a string-keyed dict of arguments."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "locals":
                offenders.append((str(path.relative_to(PACKAGE)), node.lineno, "locals()"))
            if (
                isinstance(node, ast.Subscript)
                and getattr(node.value, "id", "") == "arguments"
                and isinstance(node.slice, ast.Constant)
            ):
                offenders.append((str(path.relative_to(PACKAGE)), node.lineno, "arguments[...]"))
    assert offenders == []


def _import_runs(function: ast.AST) -> list[ast.stmt]:
    """The first statement of each run of consecutive imports inside `function`."""
    firsts = []
    for node in ast.walk(function):
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if (node is function and field != "body") or not isinstance(block, list):
                continue
            previous_import = False
            for statement in block:
                is_import = isinstance(statement, (ast.Import, ast.ImportFrom))
                if is_import and not previous_import:
                    firsts.append(statement)
                previous_import = is_import
    return firsts


def test_every_late_import_says_what_it_spares():
    """Imports sit at the top of their module; one inside a function (to keep a start-up
    figure) has a `Lazy:` comment above it, or above the imports it opens with, saying what
    it spares and how much."""
    unexplained, seen = [], 0
    for path in sorted(PACKAGE.rglob("*.py")):
        if importgraph.module_name(path).startswith("eniops.testing"):
            continue
        lines = path.read_text().splitlines()
        functions = [
            node
            for node in ast.walk(ast.parse("\n".join(lines)))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        ]
        for first in {id(s): s for f in functions for s in _import_runs(f)}.values():
            seen += 1
            above, comment = lines[: first.lineno - 1], []
            while above and above[-1].strip().startswith("#"):
                comment.insert(0, above.pop().strip())
            said = " ".join(comment)
            if not said.startswith("# Lazy:") or not re.search(r"\d+ ms|optional", said):
                unexplained.append(f"{path.relative_to(PACKAGE)}:{first.lineno}")
    assert seen > 0
    assert unexplained == []


def test_one_version_string():
    """The version lives in the package metadata only: __version__ and the user agent use it."""
    from eniops._core._version import user_agent, version

    assert eniops.__version__ == version()
    assert user_agent() == f"eniops/{version()}"
    sources = [p.read_text() for p in PACKAGE.rglob("*.py")]
    assert not any(re.search(r"""__version__\s*=\s*["']""", text) for text in sources)
    pyproject = (PACKAGE.parent / "pyproject.toml").read_text()
    assert f'version = "{version()}"' in pyproject


def test_the_lambda_bundle_holds_what_the_handler_imports(tmp_path):
    """The Lambda bundle ships the handler's modules and pinned requirements, nothing else."""
    written = {str(p) for p in lambda_bundle.build(tmp_path)}
    assert "eniops/aws_lambda/__init__.py" in written
    assert "eniops/aws_lambda/_launch.py" in written
    assert "eniops/events/ec2-spot-interruption-warning.json" in written
    assert "eniops/_ops/failover.py" in written
    assert "eniops/_state/instance_types.json" in written
    for absent in (
        "eniops/cli/__init__.py",
        "eniops/demo.py",
        "eniops/_imds.py",
        "eniops/cli/_render.py",
    ):
        assert absent not in written
    assert not any(path.startswith("eniops/testing") for path in written)
    requirements = (tmp_path / "requirements.txt").read_text()
    assert re.search(r"^tenacity==\d", requirements, flags=re.M)
    assert "boto3" not in requirements.replace("boto3 and botocore come", "")


def test_the_lambda_bundle_reports_the_version_it_was_built_from(tmp_path):
    """Outside any installed package (as in Lambda) the bundle's metadata gives the version."""
    from eniops._core._version import version

    lambda_bundle.build(tmp_path)
    code = (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import eniops._core._version as v; "
        "print(v.__file__); print(v.version())"
    )
    # -I -S: no site-packages, so no installed eniops to find instead.
    out = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[0].startswith(str(tmp_path))
    assert out[1] == version() != "0+unknown"


#: Where `Any` may be written, and why: where eniops meets data no checker can describe.
ANY_ALLOWED = {
    "_gateway/": "boto3's clients, the parameters it checks and its answers",
    "aws_lambda/__init__.py": "the execution environment's boto3 clients, by service",
    "aws_lambda/_act.py": "the same clients, as an invocation asks for them",
    "cli/__init__.py": "a compiled --query (jmespath is untyped), the renderers by view",
    "cli/_render.py": "JSON rendered as eniops' text",
    "cli/_formats.py": "JSON rendered as the AWS CLI's text and table",
}


def _any_written(tree: ast.AST) -> int:
    """How many times `Any` is written in `tree`: names, `typing.Any`, and inside a quoted
    annotation or type alias (an import of it is not a use)."""
    count = 0
    for node in ast.walk(tree):
        if (isinstance(node, ast.Name) and node.id == "Any") or (
            isinstance(node, ast.Attribute) and node.attr == "Any"
        ):
            count += 1
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "Any" in node.value:
            try:
                inner = ast.parse(node.value.strip(), mode="eval")
            except SyntaxError:  # a docstring, a message: words, not a type
                continue
            count += _any_written(inner)
    return count


def test_any_is_written_only_where_eniops_meets_untyped_data():
    """Below the boto3 boundary and outside JSON rendering, mypy follows every value: `Any`
    is written nowhere else (a new one fails here), and each place allowed still needs it."""
    assert _any_written(ast.parse('x: "dict[str, Any]" = {}\ny: typing.Any\n"Any words."')) == 2
    found: dict[str, int] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = str(path.relative_to(PACKAGE))
        if not name.startswith("testing/"):
            found[name] = _any_written(ast.parse(path.read_text()))
    written = {name: n for name, n in found.items() if n}
    outside = {n: c for n, c in written.items() if not any(n.startswith(a) for a in ANY_ALLOWED)}
    assert outside == {}
    unused = [a for a in ANY_ALLOWED if not any(n.startswith(a) for n in written)]
    assert unused == []
    print(f"\nAny written {sum(written.values())} times, in {len(written)} of {len(found)} modules")
