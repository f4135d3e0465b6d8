"""The shipped table of instance types' network limits is what its script makes."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import instance_types
import pytest

from eniops._state import _instance_types


def test_the_shipped_table_is_what_the_script_makes_of_describe_instance_types(tmp_path):
    """`scripts/instance_types.py --moto` writes the table eniops ships, row for row: every
    type moto knows (AWS's data), each parsed as a read of it would be."""
    shipped = json.loads(Path(_instance_types.TABLE).read_text())
    made_with = shipped["source"]
    if f"moto {metadata.version('moto')}'s" not in made_with:
        pytest.skip(f"the table was made from {made_with}: another moto's copy differs")
    written = tmp_path / "instance_types.json"
    assert instance_types.main(["--moto", "--output", str(written)]) == 0
    made = json.loads(written.read_text())
    assert made == shipped
    assert len(shipped["types"]) > 1000
    assert shipped["types"]["m5.24xlarge"][:3] == [15, 50, 50]
