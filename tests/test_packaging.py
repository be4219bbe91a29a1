"""A regular (not editable) install works on its own: the wheel holds the shipped scenarios
inside the package and nothing at the top level but `simgen`; installed, `simgen generate
tabletop` runs from any folder and makes the procedural assets inside the package, and a
command that needs an extra says which in one line."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
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
    for scene in ("tabletop", "bin_picking", "shelf_picking", "robot_workcell", "mobile_floor"):
        assert f"simgen/scenes/{scene}.yaml" in names
    assert "simgen/scenes/assets/kiva_shelf_boards.urdf" in names
    assert "simgen/assets/README.md" in names


def test_an_installed_simgen_generates_a_shipped_scenario_from_anywhere(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    # The dependencies are this interpreter's (no network here); simgen itself only from the
    # wheel, so nothing of the checkout can be found.
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True).stdout.strip()
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", site,
                    str(wheel)], check=True, capture_output=True, timeout=300)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def simgen(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(python), "-m", "simgen", *args], cwd=work, env=env,
                              capture_output=True, text=True, timeout=300)

    located = subprocess.run([str(python), "-c", "import simgen; print(simgen.__file__)"],
                             cwd=work, env=env, capture_output=True, text=True, check=True)
    assert located.stdout.strip().startswith(site)
    check = simgen("check", "tabletop")
    assert check.returncode == 0, check.stderr
    assert check.stdout.startswith(f"{site}/simgen/scenes/tabletop.yaml: ok")
    made = simgen("generate", "robot_workcell", "-o", "out", "-n", "1", "--renderer", "tiny",
                  "-q", "--set", "image.width=64", "--set", "image.height=48")
    assert made.returncode == 0, made.stderr
    assert (Path(site) / "simgen/assets/parts/bolt.urdf").is_file()   # made on first use
    assert not (Path(site) / "assets").exists() and not (Path(site) / "scenes").exists()
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
