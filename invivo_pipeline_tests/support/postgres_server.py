"""A real, throwaway PostgreSQL server for the tests of the PostgreSQL-backed Dagster instance.

It runs Debian's server binaries (package ``postgresql``; ``.ci/run`` installs it when missing) in a
temporary folder, on a free loopback port with its unix socket in that folder, so that it never
meets a system cluster. PostgreSQL refuses to run as root, so as root the server runs as the
unprivileged ``postgres`` user (``runuser``) and owns its folder. fsync is off: a test server's data
need not survive a crash. Without the binaries, or as root without a ``postgres`` user, the tests
that need it skip and say why.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest.mock import patch

import pytest

BIN_DIRS = [Path(os.environ["INVIVO_TEST_PG_BIN"])] if os.environ.get("INVIVO_TEST_PG_BIN") else []
BIN_DIRS += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
SUPERUSER = "invivo_test"
UNPRIVILEGED = "postgres"


@dataclass(frozen=True)
class PostgresServer:
    """Where the server listens and how to log in (over TCP, with a password)."""

    host: str
    port: int
    user: str
    password: str = ""

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{database}"

    def env(self, database: str) -> dict[str, str]:
        """The variables ``deploy/dagster-postgres.yaml`` reads."""
        return {
            "DAGSTER_PG_HOST": self.host,
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USER": self.user,
            "DAGSTER_PG_PASSWORD": self.password,
            "DAGSTER_PG_DB": database,
        }

    def create_database(self, name: str) -> str:
        """A new empty database: each test gets its own instance on the one server."""
        import psycopg2

        con = psycopg2.connect(self.url())
        try:
            con.autocommit = True
            con.cursor().execute(f'CREATE DATABASE "{name}"')
        finally:
            con.close()
        return name


def server_binaries() -> Path | None:
    return next((d for d in BIN_DIRS if (d / "pg_ctl").exists() and (d / "initdb").exists()), None)


def skip_reason() -> str | None:
    """Why no server can start here, or None."""
    if server_binaries() is None:
        return (
            "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin "
            "(apt-get install postgresql, as .ci/run does)"
        )
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(UNPRIVILEGED)
        except KeyError:
            return f"running as root and there is no {UNPRIVILEGED!r} user to run PostgreSQL as"
        if shutil.which("runuser") is None:
            return "running as root and runuser is missing"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Start a server, yield how to reach it, then stop it and delete its files."""
    if reason := skip_reason():
        pytest.skip(reason)
    binaries = server_binaries()
    assert binaries is not None
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", UNPRIVILEGED, "--"] if as_root else []
    # Not under pytest's tmp_path: /tmp/pytest-of-root is closed to other users.
    root = Path(tempfile.mkdtemp(prefix="invivo-pg-"))
    data, sockets, log = root / "data", root / "sockets", root / "server.log"
    password = secrets.token_hex(16)
    sockets.mkdir()
    pwfile = root / "pwfile"
    pwfile.write_text(password + "\n")
    if as_root:
        owner = pwd.getpwnam(UNPRIVILEGED)
        for path in (root, sockets, pwfile):
            os.chown(path, owner.pw_uid, owner.pw_gid)

    def run(*args: str) -> None:
        done = subprocess.run([*prefix, *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            server_log = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{Path(args[0]).name} failed ({done.returncode}): {done.stderr.strip()}\n"
                f"{server_log}"
            )

    started = False
    try:
        run(
            str(binaries / "initdb"), "-D", str(data), "-U", SUPERUSER, "--pwfile", str(pwfile),
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        port = _free_port()
        options = f"-p {port} -h 127.0.0.1 -k {sockets} -c fsync=off -c full_page_writes=off"
        run(str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start")
        started = True
        yield PostgresServer("127.0.0.1", port, SUPERUSER, password)
    finally:
        if started:
            with contextlib.suppress(RuntimeError):
                run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


DEPLOY_YAML = Path(__file__).resolve().parents[2] / "deploy" / "dagster-postgres.yaml"


@dataclass(frozen=True)
class PostgresHome:
    """A ``DAGSTER_HOME`` holding ``deploy/dagster-postgres.yaml`` as is, its own database on the
    server, and the variables that file reads."""

    path: Path
    env: dict[str, str]
    server: PostgresServer
    database: str

    def instance(self):
        """The instance, loaded exactly as a process with ``env`` would load it."""
        import dagster as dg
        from dagster._core.instance.ref import InstanceRef

        with patch.dict(os.environ, self.env):
            return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(self.path)))


def make_postgres_home(server: PostgresServer, folder: Path, database: str) -> PostgresHome:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(DEPLOY_YAML, folder / "dagster.yaml")
    server.create_database(database)
    env = {"DAGSTER_HOME": str(folder), **server.env(database)}
    return PostgresHome(folder, env, server, database)


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """One server for a test module; each test takes its own database (``postgres_home``)."""
    with postgres_server() as server:
        yield server


@pytest.fixture
def postgres_home(postgres: PostgresServer, tmp_path: Path) -> PostgresHome:
    return make_postgres_home(postgres, tmp_path / "dagster_home", f"t_{secrets.token_hex(6)}")
