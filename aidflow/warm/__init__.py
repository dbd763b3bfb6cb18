"""The ``aidflow`` program: a command runs in the user's warm process when one answers, else here.

Importing the engine (the event library, SQLAlchemy, pydantic, the models) costs a whole
process about a second; the command's own work is a few milliseconds. ``aidflow warm
start`` leaves one process per user with all of that imported; this module, which imports
nothing but the standard library, hands it the command: the arguments, the working
directory, the environment, the umask and the terminal itself (file descriptors 0, 1 and 2,
passed over a Unix socket), so the command runs in a fork of the warm process exactly as it
would here — same code (:func:`aidflow.cli.main`), same options, same output, same exit
status — and no rule is written twice.

Trust: the socket lies in a directory only its user may enter (mode 0700, checked before
connecting); both sides check that the other end is the same user (``SO_PEERCRED``); the warm
process keeps no key between commands (each command brings its own environment). A warm
process whose code differs from the files on disk (an upgrade, an edit) answers ``stale`` and
ends; the command then runs here. ``AIDFLOW_WARM=0`` never uses one.

At a terminal the program starts the warm process itself when none answers
(:func:`start_at_a_terminal`): the first command of the day runs cold, the ones after it warm,
without the clerk knowing the word. Scripts and jobs (no terminal) never start one.
"""

from __future__ import annotations

import contextlib
import os
import sys

from aidflow.warm.wire import (
    SOCKET_ENV,
    SWITCH_ENV,
    Reader,
    connect,
    fingerprint,
    make_private_folder,
    send,
    socket_path,
    start,
    switched_off,
)

LOCAL_ONLY = frozenset({"warm", "serve"})
"""Commands that always run in the calling process: managing the warm process itself, and
the HTTP service (a server of its own)."""


def _terminal() -> list[int]:
    """File descriptors 0, 1 and 2, with /dev/null in place of any that is closed."""
    fds = []
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
            fds.append(fd)
        except OSError:
            fds.append(os.open(os.devnull, os.O_RDWR))
    return fds


def run_warm(args: list[str]) -> int | None:
    """Run the command in the warm process: its exit status, or None when it did not start
    there (no warm process, another code, not ours) and must run here.

    Once the warm process has said it started the command, the command is never run again
    here, whatever happens: a second run could record twice."""
    if LOCAL_ONLY.intersection(args):
        return None
    conn = connect(socket_path())
    if conn is None:
        return None
    with conn:
        request = {
            "ask": "run",
            "args": args,
            "cwd": os.getcwd(),
            "env": dict(os.environ),
            "umask": _umask(),
            "fingerprint": fingerprint(),
        }
        try:
            send(conn, request, _terminal())
        except OSError:
            return None
        read = Reader(conn)
        started = read()
        if not started or started.get("answer") != "started":
            return None
        return _wait(read, int(started["pid"]))


def _wait(read: Reader, pid: int) -> int:
    """Forward the signals a user sends (Ctrl-C) to the command; return its exit status."""
    import signal  # here: a command run in this process (``--help``) has no use for it

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(OSError):
            os.kill(pid, signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    ended = read()
    if ended is None or ended.get("answer") != "exit":
        from aidflow.i18n import messages as M
        from aidflow.render import line

        print(line(M.WARM_LOST, pid=pid), file=sys.stderr)
        return 1
    return int(ended["status"])


def _umask() -> int:
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


AT_A_TERMINAL_IDLE_S = 3600.0
"""Idle seconds after which a warm process the program started by itself ends: an hour
without a command (``aidflow warm start`` asks for longer)."""


def start_at_a_terminal(args: list[str]) -> None:
    """A person typing at a terminal (standard input and output both one) gets a warm
    process for the commands that follow: started here in the background when none
    answered, unless ``AIDFLOW_WARM=0``. A script, a pipe or a scheduled job starts none.
    Called once this command, run here cold, is done; the warm process steps aside if
    another answers."""
    if LOCAL_ONLY.intersection(args) or switched_off():
        return
    if not (os.isatty(0) and os.isatty(1)) or sys.platform != "linux":
        return  # the peer's user is checked with Linux's SO_PEERCRED
    path = socket_path()
    with contextlib.suppress(OSError, NotImplementedError):
        if make_private_folder(path):  # else: commands run cold; `warm start` says why
            start(path, AT_A_TERMINAL_IDLE_S)


def main() -> None:
    """The ``aidflow`` console script."""
    args = sys.argv[1:]
    status = run_warm(args)
    if status is None:
        from aidflow.cli import main as cli

        try:
            cli()
        finally:  # once the command is done: loading the engine beside it slowed it by a fifth
            start_at_a_terminal(args)
    sys.exit(status)


__all__ = [
    "AT_A_TERMINAL_IDLE_S",
    "LOCAL_ONLY",
    "SOCKET_ENV",
    "SWITCH_ENV",
    "main",
    "run_warm",
    "start_at_a_terminal",
]
