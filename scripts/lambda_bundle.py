"""Build the Lambda code bundle in `build/lambda/`: the handler's modules and nothing else.

    python scripts/lambda_bundle.py && sam build && sam deploy --guided

`template.yaml`'s `CodeUri` points here. The bundle holds the eniops modules that
`eniops.aws_lambda` imports (lazy imports included), `py.typed`, the instance types' table,
the sample events, the
package's metadata (so the handler reports the version it was built from), and
`requirements.txt` with the runtime dependencies pinned to the versions installed here
(boto3 and botocore come with the Lambda runtime and are not shipped).
"""

from __future__ import annotations

import shutil
import sys
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from importgraph import PACKAGE, closure, graph, modules

HANDLER_MODULE = "eniops.aws_lambda"
SHIPPED_DEPENDENCIES = ("tenacity",)
TARGET = PACKAGE.parent / "build" / "lambda"


def handler_modules() -> set[str]:
    """The eniops modules the Lambda handler can import."""
    return closure(HANDLER_MODULE, graph())


def build(target: Path = TARGET) -> list[Path]:
    """Write the bundle; return the files written, relative to `target`."""
    if target.exists():
        shutil.rmtree(target)
    paths = modules()
    written: list[Path] = []
    for name in sorted(handler_modules()):
        source = paths[name]
        relative = source.relative_to(PACKAGE.parent)
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target / relative)
        written.append(relative)
    shutil.copy2(PACKAGE / "py.typed", target / "eniops" / "py.typed")
    written.append(Path("eniops/py.typed"))
    table = Path("eniops/_state/instance_types.json")
    shutil.copy2(PACKAGE.parent / table, target / table)
    written.append(table)
    (target / "eniops" / "events").mkdir()
    for event in sorted((PACKAGE / "events").glob("*.json")):
        shutil.copy2(event, target / "eniops" / "events" / event.name)
        written.append(Path("eniops/events") / event.name)
    written.append(_metadata(target))
    pins = [f"{name}=={metadata.version(name)}" for name in SHIPPED_DEPENDENCIES]
    (target / "requirements.txt").write_text(
        "# Pinned by scripts/lambda_bundle.py; boto3 and botocore come with the runtime.\n"
        + "\n".join(pins)
        + "\n"
    )
    written.append(Path("requirements.txt"))
    return written


def _metadata(target: Path) -> Path:
    """The core metadata `importlib.metadata` reads the version from (the bundle is not
    pip-installed, so it would otherwise have none)."""
    version = metadata.version("eniops")
    relative = Path(f"eniops-{version}.dist-info") / "METADATA"
    (target / relative).parent.mkdir()
    (target / relative).write_text(f"Metadata-Version: 2.1\nName: eniops\nVersion: {version}\n")
    return relative


if __name__ == "__main__":
    for path in build():
        print(path)
