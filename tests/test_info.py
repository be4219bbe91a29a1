"""`simgen info` says what this machine offers, and agrees with what generate would do."""

import subprocess
import sys

from simgen.info import machine_info
from simgen.provenance import PACKAGES


def test_info_reports_versions_renderers_and_cores():
    info = machine_info()
    assert set(PACKAGES) <= set(info["packages"])
    assert info["renderers"]["tiny"] is True          # TinyRenderer starts everywhere
    assert info["renderers"]["cycles"] is True        # its Blender comes with the test command
    assert info["auto_renderer"] == ("egl" if info["renderers"]["egl"] is True else "tiny")
    assert info["cores"] >= 1 and info["default_workers"] == info["cores"]
    proc = subprocess.run([sys.executable, "-m", "simgen", "info"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and proc.stderr == ""
    assert f"--renderer auto picks    {info['auto_renderer']}" in proc.stdout
    assert "pybullet " in proc.stdout
