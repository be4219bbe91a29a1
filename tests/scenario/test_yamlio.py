"""Tests for simgen.scenario.yamlio: safe YAML with a line for every key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from simgen.errors import ScenarioError, SimgenError
from simgen.scenario.yamlio import format_key_path, parse_yaml, read_yaml

NESTED = """\
name: demo
image:
  width: 64
  height: 48
objects:
  - asset: a
    count: 2
  - asset: b
    spawn:
      box: {min: [0, 0, 0], max: [1, 1, 1]}
tags: [x, y]
nested:
  - - 1
    - 2
"""


def _error(text: str, name: str = "f.yaml") -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        parse_yaml(text, name)
    return info.value


# --- data and line map ------------------------------------------------------------------------

def test_parse_returns_plain_data() -> None:
    data, _ = parse_yaml(NESTED, "f.yaml")
    assert data == {
        "name": "demo",
        "image": {"width": 64, "height": 48},
        "objects": [{"asset": "a", "count": 2},
                    {"asset": "b", "spawn": {"box": {"min": [0, 0, 0], "max": [1, 1, 1]}}}],
        "tags": ["x", "y"],
        "nested": [[1, 2]],
    }
    assert type(data) is dict and type(data["objects"]) is list


def test_line_map_is_exact_for_nested_keys_and_list_items() -> None:
    _, lines = parse_yaml(NESTED, "f.yaml")
    box = ("objects", 1, "spawn", "box")
    assert lines == {
        (): 1,
        ("name",): 1,
        ("image",): 2, ("image", "width"): 3, ("image", "height"): 4,
        ("objects",): 5,
        ("objects", 0): 6, ("objects", 0, "asset"): 6, ("objects", 0, "count"): 7,
        ("objects", 1): 8, ("objects", 1, "asset"): 8, ("objects", 1, "spawn"): 9,
        box: 10, box + ("min",): 10, box + ("min", 0): 10, box + ("min", 1): 10,
        box + ("min", 2): 10, box + ("max",): 10, box + ("max", 0): 10, box + ("max", 1): 10,
        box + ("max", 2): 10,
        ("tags",): 11, ("tags", 0): 11, ("tags", 1): 11,
        ("nested",): 12, ("nested", 0): 13, ("nested", 0, 0): 13, ("nested", 0, 1): 14,
    }


def test_line_map_counts_comments_and_blank_lines() -> None:
    text = "# header\n\nfirst: 1   # trailing\n\n# more\nsecond:\n\n  - 1\n  # between\n  - 2\n"
    data, lines = parse_yaml(text, "f.yaml")
    assert data == {"first": 1, "second": [1, 2]}
    assert lines[("first",)] == 3
    assert lines[("second",)] == 6
    assert lines[("second", 0)] == 8
    assert lines[("second", 1)] == 10


def test_scalars_use_the_safe_core_schema() -> None:
    text = "i: 3\nf: 2.5\nb: true\nn: null\ns: '3'\nt: !!str 5\nneg: -4\ne: 1.0e+3\n"
    data, _ = parse_yaml(text, "f.yaml")
    assert data == {"i": 3, "f": 2.5, "b": True, "n": None, "s": "3", "t": "5", "neg": -4,
                    "e": 1000.0}
    assert type(data["i"]) is int and type(data["f"]) is float and type(data["t"]) is str


def test_empty_document_is_none() -> None:
    assert parse_yaml("", "f.yaml") == (None, {})
    assert parse_yaml("# only a comment\n", "f.yaml") == (None, {})


def test_read_yaml_reads_a_file_and_names_it(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("a:\n  b: [1, 2]\n", encoding="utf-8")
    data, lines = read_yaml(path)
    assert data == {"a": {"b": [1, 2]}}
    assert lines[("a", "b", 1)] == 2
    path.write_text("a: [1\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        read_yaml(path, "shown.yaml")
    assert str(info.value).startswith("shown.yaml:2: invalid YAML: ")


def test_read_yaml_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ScenarioError) as info:
        read_yaml(missing)
    assert str(info.value) == f"{missing}: file not found"
    assert info.value.line is None


def test_read_yaml_undecodable_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(ScenarioError) as info:
        read_yaml(path, "latin1.yaml")
    assert str(info.value).startswith("latin1.yaml: cannot read file (")


# --- duplicate keys ---------------------------------------------------------------------------

def test_duplicate_top_level_key_names_both_lines() -> None:
    err = _error("x: 1\ny: 2\n\nx: 3\n")
    assert str(err) == "f.yaml:4: x: duplicate key (first given on line 1)"
    assert (err.file, err.line, err.key_path) == ("f.yaml", 4, "x")


def test_duplicate_nested_key_names_both_lines() -> None:
    err = _error("a: 1\nb:\n  c: 2\n  d: 3\n  c: 4\n")
    assert str(err) == "f.yaml:5: b.c: duplicate key (first given on line 3)"


def test_duplicate_key_inside_list_item() -> None:
    err = _error("objects:\n  - asset: a\n    count: 1\n    count: 2\n")
    assert str(err) == "f.yaml:4: objects[0].count: duplicate key (first given on line 3)"


def test_duplicate_key_in_flow_mapping() -> None:
    err = _error("image: {width: 64, width: 32}\n")
    assert str(err) == "f.yaml:1: image.width: duplicate key (first given on line 1)"


def test_duplicate_is_a_simgen_error() -> None:
    assert isinstance(_error("a: 1\na: 1\n"), SimgenError)


# --- tags -------------------------------------------------------------------------------------

def test_python_object_apply_tag_rejected(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    err = _error(f'name: ok\nhack: !!python/object/apply:os.system ["touch {marker}"]\n')
    assert "!!python" in str(err)
    assert str(err) == ("f.yaml:2: hack: tag '!!python/object/apply:os.system' is not allowed "
                        "(only plain YAML values)")
    assert not marker.exists()


def test_python_name_tag_rejected() -> None:
    err = _error("a:\n  b: !!python/name:os.system\n")
    assert "!!python" in str(err)
    assert str(err) == "f.yaml:2: a.b: tag '!!python/name:os.system' is not allowed (only plain YAML values)"


def test_python_tag_in_list_item_rejected() -> None:
    err = _error("a:\n  - 1\n  - !!python/object/new:os.system [ls]\n")
    assert (err.line, err.key_path) == (3, "a[1]")
    assert "!!python/object/new:os.system" in str(err)


def test_python_tag_on_a_key_rejected() -> None:
    err = _error("ok: 1\n!!python/name:os.system : 1\n")
    assert err.line == 2
    assert "python/name:os.system" in str(err)


@pytest.mark.parametrize("value, tag", [
    ("!!binary aGk=", "!!binary"),
    ("!!set {x}", "!!set"),
    ("!!omap [{a: 1}]", "!!omap"),
    ("!custom 1", "!custom"),
])
def test_non_core_tags_rejected(value: str, tag: str) -> None:
    err = _error(f"a: {value}\n")
    assert str(err) == f"f.yaml:1: a: tag {tag!r} is not allowed (only plain YAML values)"


# --- broken YAML ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, line", [
    ("a: 1\nb: [1, 2\nc: 3\n", 3),
    ("a:\n  b: {c: [1, 2}\n", 2),
    ("a: 1\n b: 2\n", 2),
    ("a: 1\nb: c: d\n", 2),
    ("a: 1\nb: 'open\n", 3),
    ("a: 1\n---\nb: 2\n", 2),
    ("a: *missing\n", 1),
])
def test_broken_yaml_names_a_line(text: str, line: int) -> None:
    err = _error(text, "broken.yaml")
    assert err.line == line
    assert str(err).startswith(f"broken.yaml:{line}: invalid YAML: ")
    assert "\n" not in str(err)


def test_control_character_is_a_scenario_error() -> None:
    # BUG: yaml.SafeLoader(text) is built outside the try block, so PyYAML's ReaderError for an
    # unprintable character escapes as a non-SimgenError (a traceback in the CLI).
    err = _error("name: ok\ndescription: bell\x07\n")
    assert str(err).startswith("f.yaml")
    assert "invalid YAML" in str(err)
    assert "\n" not in str(err)


# --- keys -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, line, message", [
    ("1: a\n", 1, "f.yaml:1: keys must be strings (got 1)"),
    ("ok: 1\nnull: a\n", 2, "f.yaml:2: keys must be strings (got None)"),
    ("true: a\n", 1, "f.yaml:1: keys must be strings (got True)"),
    ("a:\n  2.5: x\n", 2, "f.yaml:2: a: keys must be strings (got 2.5)"),
    ("? [1, 2]\n: 3\n", 1, "f.yaml:1: keys must be strings (got [1, 2])"),
    ("l:\n  - {1: a}\n", 2, "f.yaml:2: l[0]: keys must be strings (got 1)"),
])
def test_non_string_keys_rejected(text: str, line: int, message: str) -> None:
    err = _error(text)
    assert err.line == line
    assert str(err) == message


# --- anchors and merge keys ------------------------------------------------------------------

def test_anchor_alias_and_merge_key() -> None:
    text = ("base: &b\n  x: 1\n  y: 2\nderived:\n  <<: *b\n  z: 3\n"
            "list: &l [1, 2]\nagain: *l\n")
    data, lines = parse_yaml(text, "f.yaml")
    assert data == {"base": {"x": 1, "y": 2}, "derived": {"x": 1, "y": 2, "z": 3},
                    "list": [1, 2], "again": [1, 2]}
    assert "<<" not in data["derived"]
    assert lines[("derived",)] == 4
    assert lines[("derived", "z")] == 6
    assert lines[("derived", "x")] == 2   # merged keys keep the line they were written on
    assert lines[("again",)] == 8


def test_aliased_mapping_results_are_independent() -> None:
    data, _ = parse_yaml("a: &a {x: 1}\nb: *a\n", "f.yaml")
    data["a"]["x"] = 99
    assert data["b"] == {"x": 1}


def test_merge_key_in_scenario_like_objects() -> None:
    text = ("spawn: &spawn {box: {min: [0, 0, 0], max: [1, 1, 1]}}\n"
            "objects:\n"
            "  - {asset: a, spawn: *spawn}\n"
            "  - <<: {asset: b, count: 2}\n"
            "    spawn: *spawn\n")
    data, _ = parse_yaml(text, "f.yaml")
    assert data["objects"][0]["spawn"] == {"box": {"min": [0, 0, 0], "max": [1, 1, 1]}}
    assert data["objects"][1] == {"asset": "b", "count": 2,
                                  "spawn": {"box": {"min": [0, 0, 0], "max": [1, 1, 1]}}}


def test_merge_key_explicit_key_overrides_merged_value() -> None:
    # YAML's merge key: keys written in the mapping override the merged ones. BUG: the merged
    # pairs are put before the explicit ones and then reported as a duplicate key.
    data, _ = parse_yaml("base: &b\n  x: 1\n  y: 2\nderived:\n  <<: *b\n  x: 5\n", "f.yaml")
    assert data["derived"] == {"x": 5, "y": 2}


def test_merge_key_list_earlier_mapping_wins() -> None:
    # YAML's merge key with a list: a key in an earlier mapping wins over a later one.
    text = "a: &a {x: 1}\nb: &b {x: 2, y: 3}\nc:\n  <<: [*a, *b]\n"
    data, _ = parse_yaml(text, "f.yaml")
    assert data["c"] == {"x": 1, "y": 3}


# --- key path formatting ----------------------------------------------------------------------

@pytest.mark.parametrize("path, text", [
    ((), ""),
    (("camera",), "camera"),
    (("camera", "fov_deg"), "camera.fov_deg"),
    (("objects", 2, "count"), "objects[2].count"),
    (("camera", "look_at", 0), "camera.look_at[0]"),
    (("nested", 0, 1), "nested[0][1]"),
])
def test_format_key_path(path: tuple, text: str) -> None:
    assert format_key_path(path) == text
