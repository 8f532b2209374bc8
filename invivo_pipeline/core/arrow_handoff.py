"""Arrow tables handed from a worker process to its parent through shared memory, not a pipe.

Why: a worker's rows went back pickled through the pool's pipe, and the parent, which writes the
warehouse and so bounds the run, spent much of its CPU reading and unpickling them
(docs/performance.md). Here the worker writes each table once as an Arrow IPC file into a folder
in ``/dev/shm`` (memory, not disk) and sends only the file's name; the parent maps the file and
reads its columns in place, then unlinks it, so the memory goes back once the table is dropped.

Where there is no ``/dev/shm``, or it is full (a container's is often 64 MB), a table stays in
the worker's answer and travels through the pipe as before: slower, never wrong.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from contextlib import suppress
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc

SHARED_MEMORY = Path("/dev/shm")
_PREFIX = "invivo-rows-"


class Handoff:
    """A folder in shared memory for one pool of workers; ``close`` removes what is left in it."""

    def __init__(self, root: Path | None = None) -> None:
        """``root``: where the folder goes (``/dev/shm`` unless given); none where it cannot."""
        root = SHARED_MEMORY if root is None else root
        self.directory: str | None = None
        if not (root.is_dir() and os.access(root, os.W_OK)):
            return
        _remove_orphans(root)
        with suppress(OSError):  # full: every table then travels in its answer
            self.directory = tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-", dir=root)

    def close(self) -> None:
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None


def put(table: pa.Table, directory: str | None) -> str | None:
    """In the worker: ``table`` written to a file of its own in ``directory``; its path, or None
    where it must travel in the answer (no folder, an empty table, or no room left)."""
    if directory is None or table.num_rows == 0:
        return None
    path = os.path.join(directory, f"{uuid.uuid4().hex}.arrow")
    try:
        with pa.OSFile(path, "wb") as sink, ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
    except OSError:
        Path(path).unlink(missing_ok=True)
        return None
    return path


def take(path: str) -> pa.Table:
    """In the parent: the table written at ``path``, its columns read in place from the mapped
    file; the file's name is gone on return, its memory once the table is dropped."""
    try:
        with pa.memory_map(path) as source:
            return ipc.open_file(source).read_all()
    finally:
        Path(path).unlink(missing_ok=True)  # gone already: the error above is the one to see


def _remove_orphans(root: Path) -> None:
    """Folders left by a run that was killed before it could remove its own (its process is
    gone): shared memory is not freed by a restart of the service, only of the machine."""
    for folder in root.glob(f"{_PREFIX}*"):
        pid = folder.name[len(_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
