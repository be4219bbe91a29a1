"""scripts/benchmark.py runs and reports every row (its numbers are not asserted: speed is
measured by the benchmark itself, never by a timed test)."""

import json
import subprocess
import sys

from tests.conftest import REPO


def test_benchmark_script_reports_every_row(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts/benchmark.py"), "--images", "2", "--renderer", "tiny",
         "--json", str(out)], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(out.read_text())["ratio_to_R0"]
    assert set(rows) == {"R0 render only", "end to end, occlusion none",
                         "end to end, occlusion exact"}
    assert rows["R0 render only"] == 1.0 and all(v > 0 for v in rows.values())
    assert "R0 render only" in proc.stdout
