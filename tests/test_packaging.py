"""A regular (not editable) install works on its own: the wheel holds the shipped scenarios
inside the package and nothing at the top level but `simgen`; installed, `simgen generate
tabletop` runs from any folder and makes the procedural assets inside the package, and a
command that needs an extra says which in one line."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("wheel")
    # Built as pip builds it for `pip install .`: in an isolated build environment.
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-q", "-w",
                    str(folder)], check=True, capture_output=True, timeout=300)
    (built,) = folder.glob("simgen-*.whl")
    return built


def test_the_wheel_keeps_package_data_inside_the_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"simgen"}
    for scene in ("tabletop", "bin_picking", "shelf_picking", "robot_workcell", "mobile_floor",
                  "own_parts"):
        assert f"simgen/scenes/{scene}.yaml" in names
    assert "simgen/scenes/assets/kiva_shelf_boards.urdf" in names
    assert "simgen/assets/README.md" in names


def test_an_installed_simgen_generates_a_shipped_scenario_from_anywhere(wheel, tmp_path):
    # simgen only from the wheel, installed into a folder of its own that comes first on the
    # path; its dependencies are this interpreter's (no network here, and CI may run in a
    # virtual environment whose base interpreter has none of them).
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(site), str(wheel)], check=True, capture_output=True, timeout=300)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}

    def simgen(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "simgen", *args], cwd=work, env=env,
                              capture_output=True, text=True, timeout=300)

    located = subprocess.run([sys.executable, "-c", "import simgen; print(simgen.__file__)"],
                             cwd=work, env=env, capture_output=True, text=True, check=True)
    assert located.stdout.strip() == str(site / "simgen" / "__init__.py")
    check = simgen("check", "tabletop")
    assert check.returncode == 0, check.stderr
    assert check.stdout.startswith(f"{site}/simgen/scenes/tabletop.yaml: ok")
    made = simgen("generate", "robot_workcell", "-o", "out", "-n", "1", "--renderer", "tiny",
                  "-q", "--set", "image.width=64", "--set", "image.height=48")
    assert made.returncode == 0, made.stderr
    assert (site / "simgen/assets/parts/bolt.urdf").is_file()   # made on first use
    assert not (site / "assets").exists() and not (site / "scenes").exists()
    assert simgen("verify", "out").returncode == 0


def test_a_command_needing_an_extra_says_which(monkeypatch, capsys):
    import importlib.util

    from simgen.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real(name, *a))
    assert main(["report", str(REPO), "-o", "x.html"]) == 2
    assert capsys.readouterr().err == ("simgen: error: simgen report needs matplotlib, which is "
                                       "not installed: pip install 'simgen[viz]'\n")
