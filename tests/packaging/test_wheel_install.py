"""``python -m build --wheel`` makes a wheel that installs into a fresh venv and runs README's quickstart.

The fresh venv is made without ``--system-site-packages`` and gets only the wheel (``--no-deps``).
Its dependencies come from this project's own venv through a ``.pth`` file naming that venv's
site-packages folder: that adds the folder to ``sys.path`` after the fresh venv's own, and
without running the ``.pth`` files inside it, so the editable install of the checkout is not
seen, and ``powermem`` can only be imported from the wheel (the test checks ``__file__``).
Downloading the dependencies instead (numpy, tokenizers, the neo4j driver...) would take
minutes and need the registry on every run; what is under test here is the wheel: its files,
its metadata, its entry point and the import name. The build runs ``--no-isolation`` with the
dev environment's setuptools (a dev dependency), so the test needs no network either.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def readme_quickstart() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Quickstart"):]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "README's Quickstart has a python block"
    return match.group(1)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out),
                           str(ROOT)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    wheels = list(out.glob("*.whl"))
    assert len(wheels) == 1
    return wheels[0]


def test_wheel_is_named_for_pypi_and_imports_as_powermem(wheel: Path) -> None:
    assert wheel.name.startswith("powermem_graph-")  # "powermem" on PyPI is OceanBase's package


def test_wheel_installs_in_a_fresh_venv_and_runs_the_quickstart(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False, system_site_packages=False)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.check_output(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip())
    (site / "_powermem_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet",
                    str(wheel)], check=True, capture_output=True, timeout=120)
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": f"{env_dir / 'bin'}:/usr/bin:/bin", "HOME": str(home), "HF_HUB_OFFLINE": "1",
           "POWERMEM_PATH": str(home / "quickstart.db")}
    where = subprocess.run([str(python), "-c", "import powermem; print(powermem.__file__)"],
                           cwd=home, env=env, capture_output=True, text=True, timeout=60)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(site), "powermem must come from the wheel"
    quickstart = subprocess.run([str(python), "-c", readme_quickstart()], cwd=home, env=env,
                                capture_output=True, text=True, timeout=120)
    assert quickstart.returncode == 0, quickstart.stderr
    assert "Lisbon" in quickstart.stdout
    cli = subprocess.run([str(env_dir / "bin" / "powermem"), "--version"], cwd=home, env=env,
                         capture_output=True, text=True, timeout=60)
    assert cli.returncode == 0 and cli.stdout.strip(), cli.stderr
    assert os.path.exists(home / "quickstart.db")
