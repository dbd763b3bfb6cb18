"""A failure of the CLI, told: one line on stderr (or a JSON object) and one exit status.

Exit status: 0 done; 1 refused by a rule, not found, a failed check, or an internal error;
2 bad usage or bad input. Every failure, from parsing to an unexpected bug, ends in
:func:`report` (:class:`aidflow.cli.session.AidflowGroup` sees to it); a file a command
writes (``-o``) is asked for before it records anything (:func:`writable`). Imported when a
command runs or something fails, never by ``aidflow --help``.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import click

from aidflow import render
from aidflow.domain.errors import Said, said, store_failure
from aidflow.i18n import current, error_summary, tr
from aidflow.i18n import messages as M

DEBUG_ENV = "AIDFLOW_DEBUG"

# Codes the CLI reports beside the library's error family (stable, like theirs).
USAGE_ERROR = "usage_error"
RULE_VIOLATIONS = "rule_violations"
DIGEST_MISMATCH = "digest_mismatch"
VIEWS_BROKEN = "views_broken"
VIEWS_DRIFTED = "views_drifted"
WARM_UNAVAILABLE = "warm_unavailable"
INTERNAL_ERROR = "internal_error"
CLI_ERRORS: dict[str, tuple[int, str]] = {
    USAGE_ERROR: (2, M.MEANS_USAGE_ERROR),
    RULE_VIOLATIONS: (1, M.MEANS_RULE_VIOLATIONS),
    DIGEST_MISMATCH: (1, M.MEANS_DIGEST_MISMATCH),
    VIEWS_BROKEN: (1, M.MEANS_VIEWS_BROKEN),
    VIEWS_DRIFTED: (1, M.MEANS_VIEWS_DRIFTED),
    WARM_UNAVAILABLE: (1, M.MEANS_WARM_UNAVAILABLE),
    INTERNAL_ERROR: (1, M.MEANS_INTERNAL_ERROR),
}


class Refused(click.ClickException):
    """A command of the CLI's own refused for a reason that is not the command line's: told
    under its code (click's own exceptions are usage errors, "命令行有误" in Chinese)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Failure:
    status: int
    code: str
    message: str
    ids: dict[str, str] = field(default_factory=dict)
    help_for: str = ""
    """The command whose ``--help`` a usage error points to (text only)."""


def failure(exc: Exception) -> Failure:
    """What the user is told about ``exc``, and the exit status."""
    if isinstance(exc, Refused):
        return Failure(CLI_ERRORS[exc.code][0], exc.code, exc.format_message())
    if isinstance(exc, click.UsageError):
        hint = "" if exc.ctx is None else exc.ctx.command_path
        return Failure(exc.exit_code, USAGE_ERROR, exc.format_message(), help_for=hint)
    if isinstance(exc, click.ClickException):
        return Failure(exc.exit_code, USAGE_ERROR, exc.format_message())
    from pydantic import ValidationError  # not before: a typo is told without pydantic

    from aidflow.domain.errors import AidflowError, InvalidInput, MasterKeyError

    if isinstance(exc, AidflowError):
        message = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
        status = 2 if isinstance(exc, InvalidInput | MasterKeyError) else 1
        return Failure(status, exc.code, message, exc.ids)
    failed = store_failure(exc)
    if failed is not None:
        return failure(failed)
    if isinstance(exc, OSError) and exc.filename:  # a file (-o): where, why, what to do
        return failure(file_problem(exc))
    if isinstance(exc, ValidationError):
        from aidflow.i18n.problems import input_problems

        return Failure(2, InvalidInput.code, input_problems(exc.errors()))
    return Failure(1, INTERNAL_ERROR, render.line(M.INTERNAL, kind=type(exc).__name__, message=exc))


_FILE_PROBLEMS: dict[int, Said] = {
    errno.ENOENT: said("the folder does not exist"),
    errno.ENOTDIR: said("part of the path is not a folder"),
    errno.EACCES: said("no permission there"),
    errno.EPERM: said("no permission there"),
    errno.EROFS: said("the disk is read-only"),
    errno.ENOSPC: said("the disk is full"),
    errno.EDQUOT: said("the disk quota is used up"),
    errno.ENAMETOOLONG: said("the name is too long"),
    errno.EISDIR: said("it is a folder"),
    errno.EEXIST: said("a file of that name is in the way"),
    errno.EFBIG: said("the file would be larger than this system allows"),
}


def file_problem(exc: OSError, *, recorded: bool = False) -> Exception:
    """An :class:`OSError` as the named error a person can act on (mostly an ``-o`` that
    cannot be written; a file read is refused by the command itself). ``recorded``: the
    command had recorded its act before the file failed (see :func:`written_after`)."""
    from aidflow.domain.errors import FileProblem

    why = _FILE_PROBLEMS.get(exc.errno or 0)
    if recorded:
        return FileProblem(
            said(
                "cannot write the file {path}: {why}; the command was recorded all the same: give it again with another -o",
                path=exc.filename or "",
                why=why or exc.strerror or type(exc).__name__,
            )
        )
    return FileProblem(
        said(
            "cannot use the file {path}: {why}; nothing in the store changed (check the path, or give another -o)",
            path=exc.filename or "",
            why=why or exc.strerror or type(exc).__name__,
        )
    )


def writable(path: Path) -> Path:
    """``path`` when a file can be written there, asked before a command records anything
    (its vouchers, reveals, notice or witness); else the :class:`FileProblem` (no folder, no
    permission, a name too long, a folder of that name). A file made to ask is removed."""
    existed = os.path.lexists(path)
    try:
        with open(path, "a"):
            pass
    except OSError as exc:
        raise file_problem(exc) from None
    if not existed:
        path.unlink(missing_ok=True)
    return path


@contextmanager
def written_after() -> Iterator[None]:
    """Around the file of a command recorded first (a notice, a witness, the payment list,
    a visit list: :func:`writable` asked for the file before): a file that fails even so
    (a full disk) does not say "nothing in the store changed"."""
    try:
        yield
    except OSError as exc:
        raise file_problem(exc, recorded=True) from None


def report(problem: Exception | Failure, *, as_json: bool) -> int:
    """Tell the user on stderr; return the exit status. The traceback only with AIDFLOW_DEBUG=1."""
    found = problem if isinstance(problem, Failure) else failure(problem)
    if as_json:
        error = {"code": found.code, "message": found.message, "ids": found.ids}
        click.echo(render.to_json({"error": error}), err=True)
    else:
        from aidflow.domain.errors import Said
        from aidflow.domain.errors import render as render_message

        message = render_message(found.message, tr)
        summary = error_summary(found.code) if current() != "en" else None
        if summary and not isinstance(found.message, Said):
            # a message not (yet) from the catalogue: at least say in Chinese what went wrong
            message = tr(M.ERROR_DETAIL).format(summary=summary, message=message)
        if found.help_for:
            message = tr(M.USAGE_HINT).format(message=message, command=found.help_for)
        click.echo(render.line(M.ERROR, message=message), err=True)
    debug = os.environ.get(DEBUG_ENV) == "1" and found.code == INTERNAL_ERROR
    if debug and isinstance(problem, Exception):
        import traceback  # only here: it costs --help several milliseconds

        click.echo("".join(traceback.format_exception(problem)), err=True)
    return found.status
