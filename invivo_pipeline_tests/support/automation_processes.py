"""Real processes for the end-to-end test: start them in their own process groups, wait until
they answer, capture their output to files, and kill every one of them (and their children)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import httpx

from invivo_pipeline.warehouse import writer_lock
from invivo_pipeline.warehouse.duckdb_file import open_reader


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, check: Callable[[], Any], timeout: float, interval: float = 0.25) -> Any:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            found = check()
        except Exception as exc:  # not up yet, or the file is busy
            last_error = exc
        else:
            if found:
                return found
        time.sleep(interval)
    raise TimeoutError(f"{what}: not within {timeout:g} s (last error: {last_error!r})")


def http_ok(url: str) -> bool:
    return httpx.get(url, timeout=2).status_code == 200


@dataclass
class Processes:
    """Every process started by a test, with its log file; ``stop_all`` ends them all."""

    root: Path
    logs: Path
    started: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("wb")
        process = subprocess.Popen(
            args,
            cwd=self.root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killing it takes its children too
        )
        self.started.append((name, process))
        return process

    def run(self, name: str, args: list[str], env: dict[str, str], timeout: float) -> None:
        result = subprocess.run(
            args, cwd=self.root, env=env, capture_output=True, timeout=timeout, check=False
        )
        (self.logs / f"{name}.log").write_bytes(result.stdout + result.stderr)
        assert result.returncode == 0, f"{name} failed:\n{self.tail(name)}"

    def invivo(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "invivo_pipeline", *args]

    def alive(self, name: str) -> bool:
        return any(n == name and p.poll() is None for n, p in self.started)

    def tail(self, name: str, lines: int = 60) -> str:
        path = self.logs / f"{name}.log"
        if not path.exists():
            return f"<no log for {name}>"
        text = path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def report(self) -> str:
        names = [n for n, _ in self.started]
        return "\n\n".join(f"--- {name} ---\n{self.tail(name)}" for name in names)

    def stop_all(self) -> None:
        for _, process in reversed(self.started):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for _, process in reversed(self.started):
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            # Children (the code server, run workers) may outlive a polite parent.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)


@contextlib.contextmanager
def processes(root: Path, logs: Path) -> Iterator[Processes]:
    logs.mkdir(parents=True, exist_ok=True)
    running = Processes(root, logs)
    try:
        yield running
    finally:
        running.stop_all()


def count_rows(db: Path, sql: str) -> int | None:
    """One count from the warehouse, taken under the writers' lock so no writer is disturbed;
    ``None`` if the table does not exist yet."""
    with writer_lock(db, timeout=60), open_reader(db) as con:
        try:
            return int(con.execute(sql).fetchone()[0])
        except duckdb.CatalogException:
            return None
