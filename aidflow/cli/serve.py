"""``aidflow serve``: the HTTP service (needs the ``[http]`` extra)."""

from __future__ import annotations

import functools

import click

from aidflow.cli.helptext import HelpCommand
from aidflow.cli.session import Session, global_options, pass_session
from aidflow.i18n import messages as M
from aidflow.i18n import tr
from aidflow.render import line


@click.command("serve", cls=HelpCommand)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--docs",
    is_flag=True,
    help="Also serve the OpenAPI pages (/docs, /openapi.json): they map "
    "every route for anyone who can reach the port.",
)
@functools.partial(global_options, answers=False)
@pass_session
def serve_command(session: Session, host: str, port: int, docs: bool) -> None:
    """Serve every command (POST) and query (GET) over HTTP (OpenAPI at /docs with --docs).

    Callers authenticate with a staff bearer token (`aidflow staff token NAME`); the
    actor of every command is the token's staff member.
    """
    import os
    from importlib.util import find_spec

    if find_spec("uvicorn") is None or find_spec("fastapi") is None:
        raise click.UsageError(tr(M.NEEDS_HTTP_EXTRA))
    import uvicorn

    click.echo(line(M.SERVING, url=session.url, host=host, port=port), err=True)
    os.environ["AIDFLOW_DB"] = session.url  # the factory opens the store the CLI was given
    os.environ["AIDFLOW_HTTP_DOCS"] = "1" if docs else "0"
    uvicorn.run(
        "aidflow.http.app:app_from_env", factory=True, host=host, port=port, log_level="warning"
    )
