"""scripts/benchmark.py runs and reports every row (its numbers are not asserted: speed is
measured by the benchmark itself, never by a timed test)."""

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO, RENDERERS_HERE

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("renderer", RENDERERS_HERE)
def test_benchmark_script_reports_every_row(tmp_path, renderer):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts/benchmark.py"), "--images", "2", "--rounds", "2",
         "--renderer", renderer, "--json", str(out)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    if renderer == "cycles":
        _check_cycles_rows(report, proc.stdout)
        return
    assert report["cycles"] is None
    (result,) = report["results"]
    rows = result["ratio_to_R0"]
    assert set(rows) == {"R0 render only", "end to end, 1 worker, occlusion none",
                         "end to end, 1 worker, occlusion exact",
                         f"end to end, {report['workers']} workers, occlusion none",
                         "1 worker, occlusion none, per CPU second",
                         "1 worker, occlusion exact, per CPU second"}
    assert rows["R0 render only"] == 1.0 and all(v > 0 for v in rows.values())
    assert {"sample", "settle", "render", "label", "augment", "write (beside)",
            "merge"} <= set(result["stage_seconds_1_worker"])
    assert "encode (beside)" in result["stage_seconds_1_worker"]
    # One worker: the committer, not the scene, waits for the last view's files.
    assert "encode" not in result["stage_seconds_1_worker"]
    assert "on threads of their own, beside them: encode" in proc.stdout
    assert report["peak_rss_mib"] > 0 and report["rounds"] == 2
    assert len(result["workers_scaling_rounds"]) == 2
    assert "R0 render only" in proc.stdout and "time per stage" in proc.stdout
    assert result["renderer"] == renderer
    # The training input (torch is in the test extra): three rates and two ratios, per round.
    streamed = result["streaming"]
    assert set(streamed["images_per_s"]) == {"stream, 2 DataLoader workers",
                                             "generate, 2 workers",
                                             "read from disk, 2 DataLoader workers"}
    assert all(v > 0 for v in streamed["images_per_s"].values())
    assert streamed["stream_over_generate"] > 0 and streamed["stream_over_disk"] > 0
    assert len(streamed["stream_over_generate_rounds"]) == 2
    assert "stream / generate" in proc.stdout
    if renderer == "egl":
        new = result["egl_new_client"]
        assert new["scenes_per_client"] >= 1 and new["seconds"] > 0 and new["mib_per_scene"] > 0
        assert 0 < new["share_of_1_worker_time"] < 1 and "new EGL client (" in proc.stdout


def _check_cycles_rows(report: dict, stdout: str) -> None:
    """Cycles: seconds per image with 1 and N workers beside tiny (and EGL) of the same run, and
    the share of time that is not Blender's own render."""
    cycles = report["cycles"]
    assert report["results"] == [] and cycles["renderer"] == "cycles"
    assert set(cycles["seconds_per_image"]) == {"1 worker", f"{report['workers']} workers"}
    assert all(v > 0 for v in cycles["seconds_per_image"].values())
    assert "tiny" in cycles["same_run_seconds_per_image_1_worker"]
    assert 0 < cycles["blender_render_s_per_image"] < cycles["seconds_per_image"]["1 worker"]
    assert 0 <= cycles["not_blender_share"] < 1
    assert cycles["samples"] == 32 and cycles["denoise"] is True
    assert "not Blender's render" in stdout and "renderer cycles (default settings" in stdout


def test_benchmark_compares_the_default_path_with_the_naive_loop(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts/benchmark.py"), "--default-only", "--images", "8",
         "--rounds", "2", "--json", str(out)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    default = report["default_vs_naive"]
    assert set(default["images_per_s"]) == {"naive loop", "simgen generate, defaults"}
    assert all(v > 0 for v in default["images_per_s"].values())
    assert len(default["ratio_rounds"]) == 2 and default["ratio"] > 0
    assert default["occlusion"] == "exact" and default["renderer"] in ("tiny", "egl")
    assert report["results"] == [] and report["cycles"] is None
    assert "simgen / naive loop:" in proc.stdout
