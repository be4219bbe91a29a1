"""Property-based fuzzing of scenario loading and generation: any mutation of a shipped
scenario either loads, or is refused with one ScenarioError line naming the file, never another
exception; and `simgen generate` of a mutated scenario either makes a dataset that verifies, or
exits 2 with one `simgen: error:` line and nothing written."""

from __future__ import annotations

import contextlib
import copy
import io
import shutil

import pytest
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


def _mutate(data, pick, junk, drop, factor=None):
    """Drop the picked key, or set it to junk; with a `factor`, scale a number of the scenario
    instead (a mutation that keeps its type, so it often loads and is generated)."""
    paths = [p for p, _ in _paths(data) if p]
    if factor is not None:
        numbers = [(p, v) for p, v in _paths(data) if p and isinstance(v, (int, float))
                   and not isinstance(v, bool)]
        path, value = numbers[pick % len(numbers)]
        _set(data, path, type(value)(value * factor) if isinstance(value, float) or
             float(factor).is_integer() else value * factor)
        return
    path = paths[pick % len(paths)]
    if drop and isinstance(path[-1], str):
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        del parent[path[-1]]
    else:
        _set(data, path, junk)


def _write(tmp_path_factory, scene, data):
    folder = tmp_path_factory.mktemp("fuzz")
    target = folder / scene.name
    # The scenario's own folder's assets, so its relative references still resolve (copied:
    # a link would lead out of the folder, which the asset rules refuse).
    shutil.copytree(scene.parent / "assets", folder / "assets")
    target.write_text(yaml.safe_dump(data, allow_unicode=True))
    return target


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scene=st.sampled_from(SCENES), pick=st.integers(min_value=0, max_value=10**6),
       junk=JUNK, drop=st.booleans())
def test_a_mutated_scenario_loads_or_is_refused_in_one_line(tmp_path_factory, scene, pick, junk,
                                                             drop):
    data = yaml.safe_load(scene.read_text())
    _mutate(data, pick, junk, drop)
    target = _write(tmp_path_factory, scene, data)
    try:
        simgen.load_scenario(target)
    except ScenarioError as err:
        message = str(err)
        assert "\n" not in message and message.startswith(str(target)), message
        assert len(message) < 5000
    # Any other exception propagates: hypothesis shrinks it to the smallest mutation.


# Small and quick to make, so that many mutations can be generated: one view of 64 x 48, a short
# settle. The mutation is applied after these, so it may undo them.
QUICK = {"image": {"width": 64, "height": 48}, "views_per_scene": 1}


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scene=st.sampled_from(SCENES), pick=st.integers(min_value=0, max_value=10**6),
       junk=JUNK, drop=st.booleans(),
       factor=st.one_of(st.none(), st.sampled_from([0, -1, 0.5, 2, 10, 1000, 1e-6])))
def test_generating_a_mutated_scenario_verifies_or_fails_in_one_line(tmp_path_factory, scene,
                                                                     pick, junk, drop, factor):
    from simgen.cli import main
    from simgen.trust.verify import verify

    data = {**yaml.safe_load(scene.read_text()), **copy.deepcopy(QUICK)}
    data["settle"] = {**data.get("settle", {}), "max_steps": 30}
    data.pop("augment", None) if pick % 2 else None    # half the cases without augmentation
    _mutate(data, pick, junk, drop, factor)
    target = _write(tmp_path_factory, scene, data)
    out = target.parent / "out"
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(["generate", str(target), "-o", str(out), "-n", "2", "--renderer", "tiny",
                     "-q", "-w", "1"])
    stderr = [line for line in err.getvalue().splitlines()
              if not line.startswith("simgen: renderer")]
    if code == 0:
        report = verify(out)
        assert report.ok, report.summary()
    else:
        assert code == 2, err.getvalue()
        assert len(stderr) == 1 and stderr[0].startswith("simgen: error: "), err.getvalue()
        if out.exists():   # a later scene failed: the finished ones are kept for --resume
            assert "scenes finished before it are kept" in stderr[0], stderr[0]
            assert list((out / ".simgen" / "scenes").glob("*.json"))
