"""Build hook: the wheel carries the portal's templates/ and static/ inside the package.

They live at the top of the repository (next to the code, as Flask's layout has them); a plain
`pip install .` copies them into `d365portal/templates` and `d365portal/static`, where the installed
app finds them (`d365portal.app.ASSETS_ROOT`). Everything else is declared in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ASSET_DIRS = ("templates", "static")


class BuildPyWithAssets(build_py):
    """setuptools' build_py, then the asset folders copied into the built package."""

    def run(self) -> None:
        super().run()
        here = Path(__file__).resolve().parent
        for name in ASSET_DIRS:
            target = Path(self.build_lib) / "d365portal" / name
            shutil.copytree(here / name, target, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildPyWithAssets})
