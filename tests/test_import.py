"""Importing simgen stays light: heavy and optional packages load only when a run needs them."""

import subprocess
import sys

HEAVY = ("pybullet", "cv2", "pycocotools", "scipy", "albumentations", "torch", "ray",
         "matplotlib", "tqdm")


def test_import_simgen_loads_no_heavy_package():
    code = ("import sys, simgen; heavy = %r; print(','.join(m for m in heavy if m in sys.modules))"
            % (HEAVY,))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == ""
    assert proc.stderr == ""
