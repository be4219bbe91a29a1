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


def test_the_next_scene_is_made_while_the_committer_waits_for_the_last_files(
        tmp_path, monkeypatch):
    """The one-worker run hands each scene over with its last files still being encoded
    (Futures); the committer waits for them, and the dataset's bytes are those of a run that
    waits in the scene (the process pool's way, which any worker count gives: test_workers)."""
    import simgen.run.generate as generate
    from concurrent.futures import Future

    handed: list[bool] = []
    real_write = generate._Committer._write

    def write(self, scene_index, images, result):
        handed.append(any(isinstance(data, Future) for _, data in result.files))
        real_write(self, scene_index, images, result)

    monkeypatch.setattr(generate._Committer, "_write", write)
    scenario = simgen.load_scenario(REPO / "scenes/tabletop.yaml", SMALL)
    simgen.generate(scenario, tmp_path / "lazy", images=8, seed=0, renderer="tiny", workers=1)
    assert handed == [True, True]
    worker = generate.SceneWorker
    monkeypatch.setattr(generate, "SceneWorker",
                        lambda *args, **kw: worker(*args, **{**kw, "wait_files": True}))
    simgen.generate(scenario, tmp_path / "waited", images=8, seed=0, renderer="tiny", workers=1)
    assert handed == [True, True, False, False]
    lazy = sorted(p.relative_to(tmp_path / "lazy") for p in (tmp_path / "lazy").rglob("*")
                  if p.is_file())
    assert lazy == sorted(p.relative_to(tmp_path / "waited")
                          for p in (tmp_path / "waited").rglob("*") if p.is_file())
    for path in lazy:
        if path.name != "manifest.json":   # it names its folder's run, not its bytes
            assert (tmp_path / "lazy" / path).read_bytes() == \
                (tmp_path / "waited" / path).read_bytes(), path


def test_a_file_that_cannot_be_encoded_stops_the_run_with_one_line_and_keeps_the_scenes(
        tmp_path, monkeypatch):
    import simgen.scene as scene
    from simgen.errors import SimgenError

    calls = []
    real_encode = scene.encode_image

    def encode(rgb, image_format, tag):
        calls.append(1)
        if len(calls) == 6:   # scene 1's second image
            raise RuntimeError("OpenCV could not encode a png image")
        return real_encode(rgb, image_format, tag)

    monkeypatch.setattr(scene, "encode_image", encode)
    scenario = simgen.load_scenario(REPO / "scenes/tabletop.yaml", SMALL)
    try:
        simgen.generate(scenario, tmp_path / "ds", images=12, seed=0, renderer="tiny",
                        workers=1)
    except SimgenError as err:
        assert str(err).startswith("scene 1: its files could not be encoded: RuntimeError: "
                                   "OpenCV could not encode a png image")
        assert "\n" not in str(err)
    else:
        raise AssertionError("the encoding error was lost")
    assert writer.committed_scenes(tmp_path / "ds") == {0}
