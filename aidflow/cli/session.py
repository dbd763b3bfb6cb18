"""One run of the CLI: the store and read models it opens, the global options (``--db``,
``--actor``, ``--lang``, ``--json``, before or after the command), what a command prints,
and the root group, whose failures :mod:`aidflow.cli.failures` tells.

The root group imports this module, so ``aidflow --help`` does: what only a command or a
failure needs (the Office, :mod:`aidflow.render`, the messages, :mod:`aidflow.cli.failures`)
is imported on first use, each a few milliseconds of a cold ``--help`` otherwise.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import Token
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from aidflow.cli.lazy import LazyGroup
from aidflow.i18n import set_language, tr

if TYPE_CHECKING:
    from aidflow.office import Office

F = TypeVar("F", bound=Callable[..., Any])
JSON_ASKED = "aidflow.json_asked"


class Session:
    """The store named by ``--db``: its :class:`~aidflow.office.Office`, opened on first use
    and closed when the command ends."""

    def __init__(self) -> None:
        self.db: str | None = None
        self.actor_name: str | None = None
        self.json = False
        self.makes_store = False
        """Set by the commands that may make a new store (the first ``staff add``, ``demo``);
        every other command refuses a store that does not exist (a mistyped ``--db``)."""
        self._office: Office | None = None
        self._shown: Token[str] | None = None

    @property
    def url(self) -> str:
        from aidflow.office import Office

        return Office.resolve(self.db)

    @property
    def office(self) -> Office:
        """The Office over the store, its views caught up now and after every command."""
        if self._office is None:
            from aidflow.office import Office
            from aidflow.render import show_times_in

            self._office = Office.open(self.url, create=self.makes_store)
            self._shown = show_times_in(self._office.timezone)
        return self._office

    def office_as_is(self) -> Office:
        """The Office without catching its views up (status, rebuild, follow and the demo
        manage that themselves)."""
        if self._office is None:
            from aidflow.office import Office
            from aidflow.render import show_times_in

            self._office = Office.open(self.url, inline=False, create=self.makes_store)
            self._shown = show_times_in(self._office.timezone)
        return self._office

    def actor(self) -> str:
        """Who acts: ``--actor``, else a person's own PostgreSQL login (the database lets it
        act as nobody else, so asking for its name again only made a clerk type it twice)."""
        if self.actor_name and self.actor_name.strip():
            return self.actor_name.strip()
        person = self.own_login()
        if person is None:
            from aidflow.i18n import messages as M

            raise click.UsageError(tr(M.NEEDS_ACTOR))
        return person

    def own_login(self) -> str | None:
        """A person's own PostgreSQL login: its name (it acts as nobody else); else None."""
        if not self.url.startswith("postgres"):  # postgresql:// or postgres://
            return None  # an embedded store's holder may act as any of its staff
        return (self._office or self.office).person

    def close(self) -> None:
        if self._office is not None:
            self._office.close()
        self._office = None
        if self._shown is not None:  # times shown on the office's clock for this command only
            from aidflow.render import stop_showing

            stop_showing(self._shown)
            self._shown = None

    def fail(self, code: str, message: str) -> NoReturn:
        """End a command that ran but found a problem (a failed check): exit status 1."""
        from aidflow.cli.failures import Failure, report

        raise click.exceptions.Exit(report(Failure(1, code, message), as_json=self.json))


pass_session = click.make_pass_decorator(Session, ensure=True)


def writes(func: F) -> F:
    """A command that records events: refused first when no actor is named."""

    @functools.wraps(func)
    def checked(session: Session, *args: Any, **kwargs: Any) -> Any:
        session.actor()
        return func(session, *args, **kwargs)

    return checked  # type: ignore[return-value]


def makes_store(func: F) -> F:
    """A command that may make the store it names (the first admin, the demo)."""

    @functools.wraps(func)
    def making(session: Session, *args: Any, **kwargs: Any) -> Any:
        session.makes_store = True
        return func(session, *args, **kwargs)

    return making  # type: ignore[return-value]


def _remember(field: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A callback keeping an option's value on the session (None: not given here)."""

    def remember(ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        if value is not None and value is not False:
            setattr(ctx.ensure_object(Session), field, value)
        return value

    return remember


def _language(_ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    """After the command: the language given there, if any."""
    if value is not None:
        set_language(value)


def _root_language(_ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    """Before the command: the language given, else the default, chosen anew for each run
    (an embedding process runs many)."""
    set_language(value)


def json_option(func: F) -> F:
    """``--json``, before or after the command; eager, so that errors in parsing see it too."""
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        is_eager=True,
        expose_value=False,
        callback=_remember("json"),
        help="Machine-readable output; money in integer fen (fields ending _fen).",
    )(func)


def global_options(func: F, *, root: bool = False, answers: bool = True) -> F:
    """``--db``, ``--actor``, ``--lang`` and ``--json``, before the command or after it.

    On the root group they are listed in its help and read their environment variables;
    on every command they are the same options again, hidden (the root's help lists them)
    and without the environment (which would undo a ``--db`` given before the command).
    ``answers=False``: a command that prints no answer to render (``serve``, ``follow``)
    takes no ``--json``.
    """
    hidden = not root
    options = [
        click.option(
            "--db",
            envvar="AIDFLOW_DB" if root else None,
            metavar="URL",
            hidden=hidden,
            expose_value=False,
            callback=_remember("db"),
            help="sqlite:///path.db (default ./aidflow.db) or postgresql://user@host:port/db  [env AIDFLOW_DB]",
        ),
        click.option(
            "--actor",
            envvar="AIDFLOW_ACTOR" if root else None,
            metavar="NAME",
            hidden=hidden,
            expose_value=False,
            callback=_remember("actor_name"),
            help="Who is acting; recorded on every event. Required by commands that write, except under a person's own PostgreSQL login, which acts as itself.  [env AIDFLOW_ACTOR]",
        ),
        click.option(
            "--lang",
            type=click.Choice(["en", "zh"]),
            is_eager=True,
            hidden=hidden,
            expose_value=False,
            callback=_root_language if root else _language,
            help="Language of everything printed: en or zh (中文).  [env AIDFLOW_LANG; default from the locale]",
        ),
    ]
    if answers:
        func = json_option(func)  # listed last, as before
    for option in reversed(options):
        func = option(func)
    return func


def export_path(_ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
    """Refuse at once an ``-o FILE`` whose suffix names no format we write."""
    from aidflow.i18n import messages as M
    from aidflow.render import line
    from aidflow.sheets import FORMATS

    if value is not None and value.suffix.lower() not in FORMATS:
        raise click.UsageError(line(M.EXPORT_FORMAT, path=value))
    return value


def output_file(help_text: str | None = None, *, required: bool = True) -> Callable[[F], F]:
    """``-o FILE``: the one file a command writes (a proof, a bundle, a statement, a notice)."""
    return click.option(
        "-o",
        "--output",
        "output",
        required=required,
        type=click.Path(dir_okay=False, writable=True, path_type=Path),
        help=help_text,
    )


def export_option(func: F) -> F:
    """``-o FILE``: write the list to FILE (.csv, .xlsx or .html) instead of printing it."""
    return click.option(
        "-o",
        "--output",
        "output",
        type=click.Path(dir_okay=False, writable=True, path_type=Path),
        callback=export_path,
        help="Write the list to FILE: .csv (UTF-8), .xlsx or .html (to print), headers in the "
        "chosen language.",
    )(func)


def emit_rows(
    session: Session,
    data: Any,
    text: str | Callable[[], str],
    output: Any,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]] | Callable[[], Sequence[Sequence[Any]]],
    *,
    totals: bool = False,
) -> None:
    """Like :func:`emit`, or, with ``-o FILE``, write the table's rows to FILE (``totals``:
    with a row summing its amounts, for a list whose amounts add up)."""
    if output is None:
        emit(session, data, text)
        return
    from aidflow.i18n import messages as M
    from aidflow.render import line
    from aidflow.sheets import write_table

    write_table(output, header, rows() if callable(rows) else rows, totals=totals)
    click.echo(line(M.WROTE, path=output), err=True)


def emit(session: Session, data: Any, text: str | Callable[[], str]) -> None:
    """Print ``data`` as JSON with ``--json``, else the human text."""
    from aidflow.render import to_json

    click.echo(to_json(data) if session.json else text() if callable(text) else text)


def _quiet() -> bool:
    """No progress bar with ``--json``: machine output stays machine output."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return False
    session = ctx.find_object(Session)
    return bool(ctx.meta.get(JSON_ASKED)) or (session is not None and session.json)


@contextmanager
def progress(length: int | None, label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal (open-ended when ``length`` is None); silent when piped."""
    label = tr(label)
    if not sys.stderr.isatty() or _quiet():
        yield lambda _n: None
        return
    if length is None:
        done = 0

        def count(n: int) -> None:
            nonlocal done
            done += n
            click.echo(f"\r{label}: {done}", nl=False, err=True)

        yield count
        click.echo("", err=True)
        return
    with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
        yield bar.update


def _asks_for_json(args: Sequence[str]) -> bool:
    options = args[: list(args).index("--")] if "--" in args else args
    return "--json" in options


class AidflowGroup(LazyGroup):
    """The root group: its commands imported on first use (:class:`LazyGroup`); every
    failure, from parsing to an unexpected bug, ends in :func:`aidflow.cli.failures.report`."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        as_json = _asks_for_json(args)
        try:
            ctx = super().make_context(info_name, args, parent=parent, **extra)
        except click.ClickException as exc:
            from aidflow.cli.failures import report

            raise click.exceptions.Exit(report(exc, as_json=as_json)) from None
        ctx.meta[JSON_ASKED] = as_json
        return ctx

    def invoke(self, ctx: click.Context) -> Any:
        try:
            try:
                return super().invoke(ctx)
            finally:
                session = ctx.find_object(Session)
                if session is not None:
                    session.close()
        except (click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            from aidflow.cli.failures import report

            session = ctx.find_object(Session)
            as_json = bool(ctx.meta.get(JSON_ASKED)) or (session is not None and session.json)
            raise click.exceptions.Exit(report(exc, as_json=as_json)) from None
