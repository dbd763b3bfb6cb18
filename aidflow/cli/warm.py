"""``aidflow warm``: start, ask and stop this user's warm process (常驻进程), so that a command
at the counter answers at the speed of a keystroke.

The program (:mod:`aidflow.warm`) hands each command to it; the process itself is
:mod:`aidflow.warm.server`.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import click

from aidflow.cli import params
from aidflow.cli.failures import WARM_UNAVAILABLE, Refused
from aidflow.cli.helptext import HelpGroup
from aidflow.cli.session import Session, emit, global_options, pass_session
from aidflow.i18n import messages as M
from aidflow.render import line
from aidflow.warm import wire as warm

# -- the commands ------------------------------------------------------------------------------


@click.group("warm", cls=HelpGroup)
@global_options
def warm_group() -> None:
    """A warm process: your commands answer at once (the first typed at a terminal starts it)."""


@warm_group.command("start")
@click.option(
    "--idle",
    type=params.HOURS,
    default=8.0,
    show_default=True,
    help="Hours without a command after which the warm process ends by itself.",
)
@global_options
@pass_session
def warm_start(session: Session, idle: float) -> None:
    """Start this user's warm process: every later `aidflow` command runs in it (same
    code, same answers; `AIDFLOW_WARM=0` runs one without it)."""
    path = warm.socket_path()
    if warm.switched_off():  # it would start, and no command here would use it
        value = os.environ.get(warm.SWITCH_ENV, "")
        raise Refused(WARM_UNAVAILABLE, line(M.WARM_SWITCHED_OFF, value=value))
    if (here := warm.ping(path)) is not None:
        _already(session, path, here, idle * 3600)
        return
    if not warm.make_private_folder(path):
        raise Refused(WARM_UNAVAILABLE, line(M.WARM_NOT_PRIVATE, folder=path.parent))
    pid = warm.start(path, idle * 3600)
    here = _wait_for(path, pid)
    if here["pid"] != pid:  # another command started one meanwhile: ours stepped aside
        _already(session, path, here, idle * 3600)
        return
    text = line(M.WARM_STARTED, pid=pid, socket=path, idle=f"{idle:g} h")
    emit(session, {**here, "started": True}, text)


def _already(session: Session, path: Path, here: dict[str, Any], idle_s: float) -> None:
    """Report the warm process already running, its idle time lengthened to ``idle_s`` when
    it had less (one the program started at a terminal keeps an hour)."""
    text = line(M.WARM_ALREADY, **{**here, "socket": str(path)})
    if float(here.get("idle_s") or 0) < idle_s:
        here = warm.ask(path, {"ask": "idle", "seconds": idle_s}) or here
        if float(here.get("idle_s") or 0) >= idle_s:
            idle = f"{idle_s / 3600:g} h"
            text = line(M.WARM_ALREADY_LONGER, **{**here, "socket": str(path), "idle": idle})
    emit(session, {**here, "started": False}, text)


def _wait_for(path: Path, pid: int) -> dict[str, Any]:
    """The warm process's first answer; an error naming its log if none comes. The one
    started (``pid``) may step aside for another started at the same moment (it ends with
    status 0): that one's answer is waited for."""
    deadline = time.monotonic() + warm.STARTUP_S
    reason = line(M.WARM_NO_ANSWER, seconds=f"{warm.STARTUP_S:g}")
    while time.monotonic() < deadline:
        if (here := warm.ping(path)) is not None:
            return here
        if pid and (ended := os.waitpid(pid, os.WNOHANG))[0]:
            status, pid = os.waitstatus_to_exitcode(ended[1]), 0
            if status != 0:
                reason = line(M.WARM_EXITED, status=status)
                break
        time.sleep(0.05)
    else:
        if pid:
            os.kill(pid, signal.SIGKILL)
    log = path.with_suffix(".log")
    raise Refused(WARM_UNAVAILABLE, line(M.WARM_NOT_STARTED, reason=reason, log=log))


@warm_group.command("status")
@global_options
@pass_session
def warm_status(session: Session) -> None:
    """Whether this user's warm process runs, since when, and whether its code is current."""
    path = warm.socket_path()
    here = warm.ping(path)
    if here is None:
        emit(session, {"running": False, "socket": str(path)}, line(M.WARM_NONE, socket=path))
        return
    current = here.get("fingerprint") == warm.fingerprint()
    code = line(M.WARM_SAME_CODE if current else M.WARM_OTHER_CODE)
    text = line(M.WARM_RUNNING, **{**here, "code": code})
    emit(session, {**here, "running": True, "current": current}, text)


@warm_group.command("stop")
@global_options
@pass_session
def warm_stop(session: Session) -> None:
    """End this user's warm process (commands start on their own again)."""
    path = warm.socket_path()
    conn = warm.connect(path, for_commands=False)
    if conn is None:
        emit(session, {"stopped": False, "socket": str(path)}, line(M.WARM_NONE, socket=path))
        return
    with conn:
        warm.send(conn, {"ask": "stop"})
        answer = warm.Reader(conn)()
    pid = (answer or {}).get("pid")
    emit(session, {"stopped": True, "pid": pid}, line(M.WARM_STOPPED, pid=pid))
