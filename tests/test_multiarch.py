"""arm64 without an arm64 machine: every package the images install has an aarch64 wheel
pinned by hash in requirements.lock (and the SBOM tool's lock, docker/sbom/requirements.lock),
and the Dockerfiles name no architecture.

The images install the lock with ``--require-hashes --only-binary=:all:``: an aarch64 build
works exactly when pip finds, for the image's Python, a manylinux aarch64 (or pure) wheel of
every pinned version whose hash the lock lists. This asks pip that question against PyPI.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCKERFILES = (REPO / "Dockerfile", REPO / "docker" / "citus" / "Dockerfile")

pytestmark = pytest.mark.slow  # downloads the wheels (~15 MB) from PyPI


LOCKS = (REPO / "requirements.lock", REPO / "docker" / "sbom" / "requirements.lock")


@pytest.mark.parametrize(
    "python",
    ["3.11", "3.12"],  # the db image's Debian bookworm python3; the tools image's
)
@pytest.mark.parametrize("lock", LOCKS, ids=["costdb", "sbom-tool"])
def test_the_lock_pins_an_aarch64_wheel_of_every_package(
    tmp_path: Path, python: str, lock: Path
) -> None:
    result = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"),
            *("--only-binary=:all:", "--require-hashes", "--implementation", "cp"),
            *("--platform", "manylinux2014_aarch64", "--platform", "manylinux_2_28_aarch64"),
            *("--python-version", python, "-d", str(tmp_path)),
            *("-r", str(lock)),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    compiled = [
        wheel.name for wheel in tmp_path.glob("*.whl") if not wheel.name.endswith("-none-any.whl")
    ]
    assert compiled  # psycopg-binary, pydantic-core, SQLAlchemy, MarkupSafe; lxml, rpds-py
    assert all("aarch64" in name for name in compiled), compiled


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=["images", "citus"])
def test_the_dockerfiles_name_no_architecture(dockerfile: Path) -> None:
    text = dockerfile.read_text(encoding="utf-8")
    assert re.findall(r"amd64|x86_64|x86-64|aarch64|arm64|--platform", text) == []
