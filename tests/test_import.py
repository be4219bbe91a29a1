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


def test_import_simgen_torch_loads_torch_and_nothing_it_does_not_need():
    """simgen.torch needs torch; torchvision (optional), PyBullet and the rest load only when a
    sample is made or a stream renders. (torch itself imports tqdm.)"""
    code = ("import sys, simgen; assert 'torch' not in sys.modules; import simgen.torch; "
            "heavy = %r; print(','.join(m for m in heavy + ('torchvision',) if m in sys.modules))"
            % (tuple(m for m in HEAVY if m != "tqdm"),))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "torch"
