"""Property-based fuzzing of scenario loading: any mutation of a shipped scenario either loads,
or is refused with one ScenarioError line naming the file. Never another exception."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simgen
from simgen.errors import ScenarioError
from tests.conftest import SCENES

JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-10**30, max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.lists(st.integers(min_value=-5, max_value=5), max_size=4),
    st.dictionaries(st.sampled_from(["uniform", "normal", "randint", "choice", "x"]),
                    st.lists(st.floats(min_value=-1e3, max_value=1e3), max_size=3), max_size=2))


def _paths(node, prefix=()):
    """Every (path, value) of the data, containers included."""
    yield prefix, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, prefix + (index,))


def _set(data, path, value):
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scene=st.sampled_from(SCENES), pick=st.integers(min_value=0, max_value=10**6),
       junk=JUNK, drop=st.booleans())
def test_a_mutated_scenario_loads_or_is_refused_in_one_line(tmp_path_factory, scene, pick, junk,
                                                             drop):
    data = yaml.safe_load(scene.read_text())
    paths = [p for p, _ in _paths(data) if p]
    path = paths[pick % len(paths)]
    if drop and isinstance(path[-1], str):
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        del parent[path[-1]]
    else:
        _set(data, path, junk)
    folder = tmp_path_factory.mktemp("fuzz")
    target = folder / scene.name
    # The scenario's own folder, so its relative assets still resolve.
    (folder / "assets").symlink_to(scene.parent / "assets")
    text = yaml.safe_dump(data, allow_unicode=True)
    target.write_text(text)
    try:
        simgen.load_scenario(target)
    except ScenarioError as err:
        message = str(err)
        assert "\n" not in message and message.startswith(str(target)), message
        assert len(message) < 5000
    # Any other exception propagates: hypothesis shrinks it to the smallest mutation.
