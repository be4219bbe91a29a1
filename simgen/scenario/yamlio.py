"""Safe YAML reading that remembers where every key came from.

`read_yaml` returns plain Python data plus a map from key path (a tuple of str keys and int list
indices) to the 1-based line it was written on, so schema errors can name `file:line`. It uses
PyYAML's SafeLoader for scalars, rejects duplicate keys (PyYAML silently keeps the last one), and
refuses every tag outside YAML's core schema, `!!python/...` included.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml

from simgen.errors import ScenarioError

KeyPath = tuple[str | int, ...]

_CORE_TAGS = {
    "tag:yaml.org,2002:" + t
    for t in ("str", "int", "float", "bool", "null", "seq", "map", "timestamp", "merge")
}


def format_key_path(path: KeyPath) -> str:
    """`("objects", 2, "count")` -> `objects[2].count`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def read_yaml(path: Path, display_name: str | None = None) -> tuple[Any, dict[KeyPath, int]]:
    """Parse `path`; return (data, lines). Raises ScenarioError on any YAML problem."""
    name = display_name or str(path)
    try:
        info = os.stat(path)   # links followed: a scenario may be a link to a regular file
        if not stat.S_ISREG(info.st_mode):
            raise ScenarioError(name, None, "", "not a regular file")
        if info.st_size > MAX_YAML_BYTES:
            raise ScenarioError(name, None, "", f"{info.st_size} bytes, more than the "
                                                f"{MAX_YAML_BYTES} a scenario may have")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(name, None, "", "file not found") from None
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ScenarioError(name, None, "", f"cannot read file ({err})") from None
    return parse_yaml(text, name)


# A scenario is a few kB of text; the shipped ones are under 10 kB.
MAX_YAML_BYTES = 1024**2
# Nesting deeper than this is no scenario (the shipped ones nest 6 deep); it also stops a
# recursive alias (`a: &a [*a]`), which would otherwise recurse without end.
MAX_DEPTH = 50


# A scenario is a few hundred values; the cap stops an "alias bomb" (a few hundred bytes of
# nested aliases expanding to 10^8 values) from using minutes of CPU and gigabytes of memory.
MAX_NODES = 100_000


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads `1e5` and `-2E-3` as floats, as YAML 1.2 and every other
    YAML and JSON reader do (PyYAML follows YAML 1.1, where a float needs a dot, and read them
    as strings)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


def parse_yaml(text: str, name: str) -> tuple[Any, dict[KeyPath, int]]:
    """Parse YAML text (see module doc); `name` is used in error messages."""
    try:
        loader = _Loader(text)  # checks the characters: may raise ReaderError
    except yaml.reader.ReaderError as err:
        line = text.count("\n", 0, err.position) + 1 if isinstance(text, str) else None
        raise ScenarioError(name, line, "", f"invalid YAML: {err.reason} "
                                            f"(character {err.character!r})") from None
    try:
        root = loader.get_single_node()
        if root is None:
            return None, {}
        lines: dict[KeyPath, int] = {(): root.start_mark.line + 1}
        return _build(loader, root, (), lines, name), lines
    except RecursionError:
        # PyYAML's parser recurses once per nesting level, before _build can count them.
        raise ScenarioError(name, None, "", f"invalid YAML: nested more than {MAX_DEPTH} "
                                            "levels deep") from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = err.problem or err.context or "invalid YAML"
        raise ScenarioError(name, line, "", f"invalid YAML: {problem}") from None
    except yaml.YAMLError as err:
        raise ScenarioError(name, None, "", f"invalid YAML: {err}") from None
    finally:
        loader.dispose()


def _build(loader: _Loader, node: yaml.Node, path: KeyPath,
           lines: dict[KeyPath, int], name: str) -> Any:
    if len(path) > MAX_DEPTH:
        raise ScenarioError(name, node.start_mark.line + 1, format_key_path(path[:3]) + "...",
                            f"nested more than {MAX_DEPTH} levels deep (or an alias that "
                            "contains itself)")
    if len(lines) > MAX_NODES:
        raise ScenarioError(name, node.start_mark.line + 1, format_key_path(path),
                            f"document too large (more than {MAX_NODES} values once aliases "
                            "are expanded)")
    if node.tag not in _CORE_TAGS:
        raise ScenarioError(name, node.start_mark.line + 1, format_key_path(path),
                            f"tag {_short_tag(node.tag)!r} is not allowed (only plain YAML values)")
    if isinstance(node, yaml.MappingNode):
        own = sum(1 for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge")
        loader.flatten_mapping(node)  # resolves `<<: *anchor`: merged pairs first, then own
        cut = len(node.value) - own
        merged_pairs, own_pairs = node.value[:cut], node.value[cut:]
        # YAML merge rules: a key written in the mapping beats a merged one, and among merged
        # mappings the earlier one wins (PyYAML lists them so that the last copy wins).
        merged: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in merged_pairs:
            merged[_key(loader, key_node, path, name)] = (key_node, value_node)
        for key_node, _ in own_pairs:
            merged.pop(_key(loader, key_node, path, name), None)
        out: dict[str, Any] = {}
        for key_node, value_node in list(merged.values()) + own_pairs:
            key = _key(loader, key_node, path, name)
            line = key_node.start_mark.line + 1
            if key in out:  # merged keys are unique by now, so this is a repeated own key
                raise ScenarioError(name, line, format_key_path(path + (key,)),
                                    f"duplicate key (first given on line {lines[path + (key,)]})")
            lines[path + (key,)] = line
            out[key] = _build(loader, value_node, path + (key,), lines, name)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            lines[path + (index,)] = item.start_mark.line + 1
            items.append(_build(loader, item, path + (index,), lines, name))
        return items
    try:
        return loader.construct_object(node, deep=True)
    except ValueError as err:   # an integer of more than 4300 digits, say
        raise ScenarioError(name, node.start_mark.line + 1, format_key_path(path),
                            f"not a usable value ({err})") from None


def _short_tag(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!", 1)



def _key(loader: _Loader, key_node: yaml.Node, path: KeyPath, name: str) -> str:
    line = key_node.start_mark.line + 1
    if key_node.tag not in _CORE_TAGS:
        raise ScenarioError(name, line, format_key_path(path),
                            f"tag {_short_tag(key_node.tag)!r} is not allowed (only plain YAML values)")
    key = loader.construct_object(key_node, deep=True)
    if not isinstance(key_node, yaml.ScalarNode) or not isinstance(key, str):
        raise ScenarioError(name, line, format_key_path(path), f"keys must be strings (got {key!r})")
    return key
