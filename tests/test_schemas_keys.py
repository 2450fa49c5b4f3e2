"""Sample keys: building, checking, sanitising, flat file names and folders, in one module."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from depthcur.schemas import SchemaError
from depthcur.schemas.keys import (build_key, check_key, flatten_key, key_from_names, key_of_folder, key_problems,
                                   sample_dir, sanitise_key_part, unflatten_key)

# a flat name cannot tell "a__b" from "a/b", nor "a_/b" from "a/_b": parts hold no "__" and do not end in "_"
# (sanitised parts never end in "_")
parts = st.text(alphabet="abz09-_", min_size=1, max_size=8).filter(lambda p: "__" not in p and p[-1] != "_")
keys = st.lists(parts, min_size=1, max_size=5).map("/".join)


@settings(max_examples=200, deadline=None)
@given(keys)
def test_flat_file_name_round_trip(key):
    name = flatten_key(key)
    assert "/" not in name and unflatten_key(name) == key


@settings(max_examples=200, deadline=None)
@given(keys)
def test_folder_round_trip(key):
    root = Path("/data/raw")
    folder = sample_dir(root, key)
    assert folder.parts[:3] == root.parts and len(folder.parts) == 3 + key.count("/") + 1
    assert key_of_folder(root, folder) == key


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=20))
def test_sanitised_part_is_a_valid_key(text):
    part = sanitise_key_part(text)
    assert check_key(part) == part and "/" not in part
    assert sanitise_key_part(part) == part          # sanitising is idempotent


def test_sanitise_keeps_todays_keys():
    # the render scene ids of tests/test_render_units.py and the importers' usual names
    assert sanitise_key_part("Living Room_OBJ") == "living_room_obj"
    assert sanitise_key_part("2011_09_26_drive_0001_sync") == "2011_09_26_drive_0001_sync"
    assert sanitise_key_part("lingbot-depth") == "lingbot-depth"
    assert sanitise_key_part("scan.001") == "scan_001"
    assert sanitise_key_part("...") == "x" and sanitise_key_part("", fallback="scene") == "scene"
    assert key_from_names("kitti", "2011_09_26", "0000000005") == "kitti/2011_09_26/0000000005"


def test_build_key_joins_parts_and_sub_keys():
    assert build_key("sim", "procedural_0000", "0001") == "sim/procedural_0000/0001"
    assert build_key("teacher", "sim/a/0001") == "teacher/sim/a/0001"


def test_flatten_for_foreign_layouts():
    assert flatten_key("syn/a") == "syn__a"
    assert flatten_key("syn/a", separator="_") == "syn_a"


@pytest.mark.parametrize("key, message", [
    ("sim/Scene/0001", "may only hold"),
    ("sim/scene.0/0001", "dots and spaces"),
    ("sim/scene 0/0001", "dots and spaces"),
    ("/sim/a", "start or end"),
    ("sim/a/", "start or end"),
    ("sim//a", "'//'"),
    ("", "empty"),
])
def test_invalid_keys_are_refused_naming_the_key(key, message):
    assert key_problems(key)
    with pytest.raises(SchemaError, match=message) as info:
        check_key(key)
    assert info.value.field == "key" and info.value.key == key
    if key:
        assert repr(key) in str(info.value)
    with pytest.raises(SchemaError):
        build_key(*key.split("/"))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abc019_-/.A ", max_size=12))
def test_key_rule_is_the_record_rule(key):
    ok = bool(key) and all(c in "abc019_-/" for c in key) and not key.startswith("/") \
        and not key.endswith("/") and "//" not in key
    assert (key_problems(key) == []) == ok
