"""With the scenes made in this process, each scene is committed on a thread of its own while
the next is made (simgen.run.generate._Committer): in order, whole, and reported only once
committed."""

from __future__ import annotations

import threading

import simgen
from simgen.dataset import writer
from tests.conftest import REPO

SMALL = ["image.width=96", "image.height=72"]


def test_scenes_are_committed_in_order_on_their_own_thread_and_reported_once_committed(
        tmp_path, monkeypatch):
    out = tmp_path / "ds"
    writers, reported = [], []
    real_commit = writer.commit_scene

    def commit(out_, scene_index, files, record):
        writers.append((scene_index, threading.current_thread().name))
        real_commit(out_, scene_index, files, record)

    monkeypatch.setattr(writer, "commit_scene", commit)

    def on_scene(scene_index, images):
        # Told right after the scene's record is in place, by the thread that committed it.
        assert scene_index in writer.committed_scenes(out)
        assert writers[-1][0] == scene_index
        reported.append((scene_index, images, threading.current_thread().name))

    scenario = simgen.load_scenario(REPO / "scenes/tabletop.yaml", SMALL)
    simgen.generate(scenario, out, images=14, seed=0, renderer="tiny", workers=1,
                    on_scene=on_scene)
    assert [index for index, _ in writers] == [0, 1, 2, 3]
    assert all(name.startswith("simgen-commit") for _, name in writers)
    assert [(i, n) for i, n, _ in reported] == [(0, 4), (1, 4), (2, 4), (3, 2)]
    assert all(name.startswith("simgen-commit") for _, _, name in reported)


def test_an_error_in_on_scene_stops_the_run_in_the_callers_thread(tmp_path):
    def on_scene(scene_index, images):
        if scene_index == 1:
            raise RuntimeError("stop here")

    scenario = simgen.load_scenario(REPO / "scenes/tabletop.yaml", SMALL)
    try:
        simgen.generate(scenario, tmp_path / "ds", images=14, seed=0, renderer="tiny",
                        workers=1, on_scene=on_scene)
    except RuntimeError as err:
        assert str(err) == "stop here"
    else:
        raise AssertionError("the error of on_scene was lost")
    assert writer.committed_scenes(tmp_path / "ds") == {0, 1}
