"""A registry of the tests' own: CNCF Distribution (Debian's ``docker-registry``) on a free
loopback port, its storage in a temporary directory; and what a client reads from it through
the registry API (a manifest, an image's labels)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from costdb.local.cluster import free_port

MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)


@contextmanager
def local_registry(directory: Path) -> Iterator[str]:
    """``host:port`` of a running registry (the engine pushes to loopback without TLS)."""
    binary = shutil.which("docker-registry")
    if binary is None:
        raise FileNotFoundError("docker-registry (scripts/provision-registry.sh installs it)")
    port = free_port()
    config = directory / "registry.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: error}\n"
        f"storage: {{filesystem: {{rootdirectory: {directory / 'data'}}}}}\n"
        f"http: {{addr: 127.0.0.1:{port}}}\n",
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while not _answers(address):
            if process.poll() is not None:
                error = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"the registry did not start: {error.strip()}")
            if time.monotonic() > deadline:
                raise RuntimeError("the registry did not answer within 20 s")
            time.sleep(0.1)
        yield address
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()


def _answers(address: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{address}/v2/", timeout=2):
            return True
    except (urllib.error.URLError, OSError):
        return False


def _get(address: str, path: str, accept: str | None = None) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://{address}/v2/{path}", headers={"Accept": accept} if accept else {}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return dict(json.load(response))


def image_labels(address: str, repository: str, digest: str) -> dict[str, str]:
    """The labels of the image ``repository@digest`` (for an index: its linux/amd64 image),
    read from its config blob as any registry client reads them."""
    manifest = _get(address, f"{repository}/manifests/{digest}", MANIFEST_TYPES)
    if "manifests" in manifest:  # an index: the amd64 image (attestations have no platform)
        (chosen,) = [
            m for m in manifest["manifests"] if m.get("platform", {}).get("architecture") == "amd64"
        ]
        manifest = _get(address, f"{repository}/manifests/{chosen['digest']}", MANIFEST_TYPES)
    config = _get(address, f"{repository}/blobs/{manifest['config']['digest']}")
    return dict(config.get("config", {}).get("Labels") or {})
