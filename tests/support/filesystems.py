"""A small real filesystem (tmpfs) that a test can fill up, so SQLite meets "database or
disk is full" from the kernel, as on a full SD card, and not from a limit set inside it."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.support.services import missing

CHUNK = 64 * 1024


@contextlib.contextmanager
def small_filesystem(size_mb: int) -> Iterator[Path]:
    """A tmpfs of `size_mb` mounted on a fresh folder, unmounted at the end. Needs root (or
    CAP_SYS_ADMIN); without it the test is skipped (failed under CAMPUS_REQUIRE_SERVICES=1)."""
    where = Path(tempfile.mkdtemp(prefix="campus-full-"))
    mount = shutil.which("mount")
    if mount is None:
        where.rmdir()
        missing("mount", "apt-get install mount")
    assert mount is not None
    result = subprocess.run(
        [mount, "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        where.rmdir()
        missing(
            "mounting a small tmpfs for the disk-full test",
            "run the tests as root or with CAP_SYS_ADMIN "
            f"({result.stderr.decode(errors='replace').strip()})",
        )
    try:
        yield where
    finally:
        # Lazy: a process the test failed to stop must not leave the mount behind.
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)
        with contextlib.suppress(OSError):
            where.rmdir()


def fill(directory: Path, name: str = "ballast") -> int:
    """Write a file in `directory` until the filesystem says it is full; return its size."""
    path = directory / name
    written = 0
    block = b"\0" * CHUNK
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        size = CHUNK
        while size >= 512:
            try:
                written += os.write(fd, block[:size])
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                size //= 2  # the last pages, down to the last block
    finally:
        os.close(fd)
    return written


def free_space(directory: Path, name: str = "ballast") -> None:
    (directory / name).unlink(missing_ok=True)
