"""Write eniops' table of instance types' network limits (`eniops/_state/instance_types.json`)
from DescribeInstanceTypes, every page of it.

    python scripts/instance_types.py [--region us-east-1] [--profile NAME]   # an account
    python scripts/instance_types.py --moto                                  # moto's copy

Run it against an account before a release (a Region that offers the newest types); with
`--moto`, moto's own copy of AWS's data is read instead (no account needed). Each entry is
parsed as eniops parses a read of one type (`Limits.from_api`), so the table and a read agree.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from eniops._state._instance_types import TABLE, table_of


def read_types(client: object) -> list[dict[str, object]]:
    """Every page of DescribeInstanceTypes."""
    pages = client.get_paginator("describe_instance_types").paginate()  # type: ignore[attr-defined]
    return [entry for page in pages for entry in page["InstanceTypes"]]


def _moto_version() -> str:
    from importlib import metadata

    return metadata.version("moto")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--profile")
    parser.add_argument("--moto", action="store_true", help="read moto's copy of AWS's data")
    parser.add_argument("--output", type=Path, default=TABLE)
    args = parser.parse_args(argv)
    import boto3

    mocked: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
    if args.moto:
        from moto import mock_aws

        mocked = mock_aws()
    with mocked:
        session = boto3.Session(profile_name=None if args.moto else args.profile)
        client = session.client("ec2", region_name=args.region)
        types = read_types(client)
    where = f"moto {_moto_version()}'s copy of AWS's data" if args.moto else args.region
    table = table_of(types, f"DescribeInstanceTypes in {where}")
    args.output.write_text(json.dumps(table, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{len(table['types'])} instance types written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
