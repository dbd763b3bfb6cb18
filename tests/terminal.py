"""A command run as a person types it: standard input, output and error on a terminal (a
pseudo-terminal this process holds the other end of). Used by the warm process's tests and by
``scripts/bench.py cli``."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from pathlib import Path


def at_a_terminal(
    args: list[str],
    env: dict[str, str],
    cwd: Path | str | None = None,
    timeout: float = 120,
    *,
    keyboard: bool = True,
) -> tuple[int, str]:
    """Run ``args`` with a terminal for its standard streams (``keyboard=False``: its input
    from /dev/null, as a job whose output is watched); its exit status and what it wrote
    there (read as it comes: a full terminal would stop the command)."""
    mine, theirs = pty.openpty()
    try:
        command = subprocess.Popen(
            args,
            env=env,
            cwd=cwd,
            stdin=theirs if keyboard else subprocess.DEVNULL,
            stdout=theirs,
            stderr=theirs,
            start_new_session=True,
        )
    finally:
        os.close(theirs)
    written = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([mine], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(mine, 65536)
                except OSError:  # EIO: every holder of the terminal's other end closed it
                    break
                if not chunk:
                    break
                written += chunk
            elif command.poll() is not None:
                break
        status = command.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        os.close(mine)
        if command.poll() is None:
            command.kill()
    return status, written.decode("utf-8", "replace").replace("\r\n", "\n")
