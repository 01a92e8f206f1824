"""A PostgreSQL cluster of the test's own (initdb into a temporary folder, a free port, trust
auth, its socket in that folder), for tests that stop and restart the server: the shared
server on 5432 is never touched."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.services import free_port, missing, wait_for_port

INSTALL = "apt-get install postgresql (initdb and pg_ctl, in /usr/lib/postgresql/*/bin)"


def postgres_bindir() -> Path:
    """The folder of initdb and pg_ctl: on PATH, or Debian's newest /usr/lib/postgresql/N."""
    found = shutil.which("initdb")
    if found is not None and shutil.which("pg_ctl") is not None:
        return Path(found).parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not versions:
        missing("PostgreSQL server binaries (initdb, pg_ctl)", INSTALL)
    return versions[-1].parent


@dataclass
class PostgresCluster:
    """`start`, `stop` (fast: every session is cut, as a crash or an upgrade would) and
    `start` again on the same port and data; `destroy` at the end."""

    bindir: Path
    port: int = field(default_factory=free_port)
    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="campus-pg-")))
    user: str | None = None  # who runs the server (initdb refuses root)

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout_s: float = 60) -> None:
        command = [*args]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        result = subprocess.run(command, capture_output=True, timeout=timeout_s, check=False)
        if result.returncode != 0:
            output = (result.stdout + result.stderr).decode(errors="replace")
            raise AssertionError(f"{' '.join(command)} failed ({result.returncode}):\n{output}")

    def init(self) -> None:
        if os.geteuid() == 0:
            # initdb refuses to run as root; the server runs as the packaged `postgres` user.
            if shutil.which("runuser") is None:
                missing("runuser", "apt-get install util-linux")
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                missing("the `postgres` system user", INSTALL)
            self.user = "postgres"
            os.chown(self.directory, owner.pw_uid, owner.pw_gid)
        self._run(
            str(self.bindir / "initdb"),
            "--pgdata",
            str(self.data),
            "--username",
            "postgres",
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--no-sync",  # a throwaway cluster: its durability is not what is tested
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1"
            f" -c unix_socket_directories={self.directory} -c fsync=off"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "--pgdata",
            str(self.data),
            "--log",
            str(self.directory / "server.log"),
            "--options",
            options,
            "--wait",
            "start",
        )
        wait_for_port("127.0.0.1", self.port)

    def stop(self) -> None:
        self._run(
            str(self.bindir / "pg_ctl"), "--pgdata", str(self.data), "-m", "fast", "--wait", "stop"
        )

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            # Already gone is fine: the folder is removed below all the same.
            with contextlib.suppress(AssertionError):
                self._run(
                    str(self.bindir / "pg_ctl"),
                    "--pgdata",
                    str(self.data),
                    "-m",
                    "immediate",
                    "--wait",
                    "stop",
                )
        shutil.rmtree(self.directory, ignore_errors=True)
