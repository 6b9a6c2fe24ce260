"""Files replaced whole: written under a temporary name with their final mode (and owner), then
renamed over the old one, so that a reader sees the old file or the new, never half of one."""

from __future__ import annotations

import os
from pathlib import Path


def replace_file(
    path: Path, content: bytes, mode: int, owner: tuple[int, int] | None = None
) -> None:
    """``path`` holds ``content`` with ``mode`` (and ``owner``: uid, gid); ``OSError`` on
    failure, the old file left as it was."""
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as file:
        file.write(content)
    if owner is not None:
        os.chown(partial, *owner)
    os.replace(partial, path)
