"""A plain `pip install <checkout>` (a wheel, not editable) runs the portal from any directory."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import venv
import zipfile
from pathlib import Path

import pytest
import requests

from tests.conftest import free_port

pytestmark = pytest.mark.live
CHECKOUT = Path(__file__).resolve().parents[2]


def test_the_wheel_carries_templates_static_files_and_message_catalogues(tmp_path: Path) -> None:
    """What the Dockerfile's build stage does (`pip wheel --no-deps`): every template, static file and
    catalogue of the checkout is in the wheel, under the package."""
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--disable-pip-version-check",
         "--wheel-dir", str(tmp_path), str(CHECKOUT)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = tmp_path.glob("d365portal-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = [
        f"d365portal/{path.relative_to(CHECKOUT).as_posix()}"
        for folder in ("templates", "static")
        for path in (CHECKOUT / folder).rglob("*")
        if path.is_file()
    ]
    catalogues = (CHECKOUT / "d365portal" / "i18n" / "messages").glob("*.toml")
    wanted += [path.relative_to(CHECKOUT).as_posix() for path in catalogues]
    assert len(wanted) > 30
    assert sorted(set(wanted) - names) == []


def test_the_installed_wheel_serves_the_sign_in_page_with_its_stylesheet(tmp_path: Path) -> None:
    """A fresh virtualenv outside the checkout, `pip install <checkout>`, then `d365portal demo` from
    an empty directory: the sign-in page and its stylesheet come from the installed package."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(CHECKOUT)],
        capture_output=True, text=True, timeout=600, env=clean, cwd=tmp_path,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-3000:]
    where = subprocess.run(
        [str(python), "-c", "import d365portal.app as a; print(a.ASSETS_ROOT)"],
        capture_output=True, text=True, timeout=60, env=clean, cwd=tmp_path,
    )  # fmt: skip
    assets = Path(where.stdout.strip())
    assert assets.is_relative_to(env_dir), f"the app found its files outside the wheel: {assets}"
    assert (assets / "templates" / "base.html").is_file() and (assets / "static" / "css").is_dir()

    empty = tmp_path / "empty"
    empty.mkdir()
    portal_port, emulator_port = free_port(), free_port()
    demo = subprocess.Popen(
        [str(env_dir / "bin" / "d365portal"), "demo", "--port", str(portal_port),
         "--emulator-port", str(emulator_port)],
        cwd=empty, env=clean, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    portal = f"http://127.0.0.1:{portal_port}"
    try:
        deadline = time.monotonic() + 90
        page = None
        while time.monotonic() < deadline and demo.poll() is None:
            try:
                page = requests.get(f"{portal}/es-ES/Account/Login/Login", timeout=3)
                if page.status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.3)
        assert page is not None and page.status_code == 200, "the installed demo did not serve"
        assert "Iniciar Sesión" in page.text
        stylesheet = re.search(r'<link[^>]+href="([^"]+\.css)"', page.text)
        assert stylesheet is not None
        css = requests.get(portal + stylesheet.group(1), timeout=5)
        assert css.status_code == 200 and "text/css" in css.headers["Content-Type"] and len(css.text) > 500
        assert (empty / "var" / "emulator.sqlite").is_file()  # state in the directory it was run from
    finally:
        os.killpg(demo.pid, signal.SIGINT)
        output, _ = demo.communicate(timeout=30)
    assert demo.returncode == 0, output.decode(errors="replace")[-2000:]
