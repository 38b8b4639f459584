"""A throwaway PostgreSQL cluster on 127.0.0.1, for tests and benchmarks.

The cluster lives in a temp dir, listens on a free port, trusts local connections
and runs without fsync (its data is thrown away). It can be stopped and started
again on the same port, so a test can take the database away from a running
deployment and give it back. As root, ``initdb`` and ``postgres`` run as the
``postgres`` user (they refuse to run as root).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

#: Where Debian puts each installed major version's server binaries.
DEBIAN_BIN_DIRS = "/usr/lib/postgresql"


def find_pg_bin() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl`` (newest version first), or None when not installed."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    for d in sorted(Path(DEBIAN_BIN_DIRS).glob("*/bin"), reverse=True):
        if (d / "initdb").exists():
            return d
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def database_name(text: str) -> str:
    """A valid database name made from ``text`` (a test's name, say): lower case, at most 60 characters."""
    name = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return ("t_" + name)[:60]


class PostgresCluster:
    """A PostgreSQL cluster of its own: ``start``, ``stop``, ``create_database``, ``remove``.

    Use it as a context manager to start it and remove it afterwards::

        with PostgresCluster() as pg:
            url = pg.create_database("mine")   # postgresql+psycopg://postgres@127.0.0.1:PORT/mine
    """

    def __init__(self, *, max_connections: int = 300, bindir: Path | None = None) -> None:
        found = bindir or find_pg_bin()
        if found is None:
            raise FileNotFoundError(
                "PostgreSQL server binaries (initdb, pg_ctl) are not installed (Debian package postgresql-15)"
            )
        self.bindir = found
        self.max_connections = max_connections
        self.root = Path(tempfile.mkdtemp(prefix="itsm-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            self.root.chmod(0o700)
            self._as = ["runuser", "-u", "postgres", "--"]
        self._initialised = False
        self._started = False

    @property
    def base_url(self) -> str:
        """The server's SQLAlchemy URL without a database name."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of one database on this server."""
        return f"{self.base_url}/{database}"

    def libpq_url(self, database: str = "postgres") -> str:
        """The plain libpq URL (for psycopg or psql) of one database on this server."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as, *args], check=True, capture_output=True)

    def start(self) -> None:
        """Initialise the cluster on first use, then start the server and wait until it accepts connections."""
        if not self._initialised:
            self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
            self._initialised = True
        for attempt in range(3):
            opts = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off "
                f"-c synchronous_commit=off -c full_page_writes=off -c max_connections={self.max_connections}"
            )
            log = str(self.root / "log")
            try:
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-w", "-l", log, "-o", opts, "start")
            except subprocess.CalledProcessError:
                # another test run took the port between free_port() and the bind: on the first start
                # nobody knows the URL yet, so another port will do; after that the URL must not change
                if self._started or attempt == 2 or self.running:
                    raise
                self.port = free_port()
                continue
            self._started = True
            return

    def stop(self) -> None:
        """Stop the server (fast shutdown: open connections are cut); the data stays for a later ``start``."""
        if self.running:
            subprocess.run(
                [*self._as, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"],
                capture_output=True,
            )

    def remove(self) -> None:
        """Stop the server and delete its files."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self, name: str) -> str:
        """Create an empty database (dropping one of that name first); returns its SQLAlchemy URL."""
        return create_database_at(self.base_url, name)

    def drop_database(self, name: str) -> None:
        """Drop a database, cutting its connections; nothing happens when the server is down."""
        if self.running:
            drop_database_at(self.base_url, name)

    def __enter__(self) -> PostgresCluster:
        try:
            self.start()
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.remove()


def _admin(base_url: str) -> psycopg.Connection[Any]:
    """An autocommit connection to the server's ``postgres`` database (CREATE/DROP DATABASE cannot run in a transaction)."""
    import psycopg

    plain = base_url.replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(plain + "/postgres", autocommit=True, connect_timeout=5)


def create_database_at(base_url: str, name: str) -> str:
    """Create an empty database on a server given by its URL without a database name; returns the database's URL."""
    with _admin(base_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base_url}/{name}"


def drop_database_at(base_url: str, name: str) -> None:
    """Drop a database on a server given by its URL without a database name, cutting its connections."""
    with _admin(base_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
