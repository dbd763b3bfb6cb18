"""``aidflow serve``: the HTTP service (needs the ``[http]`` extra)."""

from __future__ import annotations

import click

from aidflow.cli import messages as M
from aidflow.cli.render import line
from aidflow.cli.session import Session, pass_session
from aidflow.i18n import tr


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@pass_session
def serve_command(session: Session, host: str, port: int) -> None:
    """Serve every command (POST) and query (GET) over HTTP; OpenAPI at /docs.

    Callers authenticate with a staff bearer token (`aidflow staff token NAME`); the
    actor of every command is the token's staff member.
    """
    try:
        import uvicorn

        from aidflow.http.app import create_app
    except ImportError:
        raise click.UsageError(tr(M.NEEDS_HTTP_EXTRA)) from None
    click.echo(line(M.SERVING, url=session.url, host=host, port=port), err=True)
    uvicorn.run(create_app(session.url), host=host, port=port, log_level="warning")
