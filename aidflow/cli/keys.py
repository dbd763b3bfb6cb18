"""``aidflow keys``: the Ed25519 key that signs export bundles."""

from __future__ import annotations

from pathlib import Path

import click

from aidflow.cli import messages as M
from aidflow.cli.render import line
from aidflow.cli.session import Session, emit, json_option, pass_session


@click.group("keys")
def keys_group() -> None:
    """Signing keys for export bundles (kept beside the database, or in $AIDFLOW_KEYS)."""


@keys_group.command("init-signing")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="The key directory (default: $AIDFLOW_KEYS, else aidflow-keys beside the database).",
)
@json_option
@pass_session
def keys_init_signing(session: Session, directory: Path | None) -> None:
    """Create the bundle signing key (once); print the public key's path to give auditors."""
    from aidflow.proofs.keys import init_signing, key_dir

    where = key_dir(None if directory is not None else session.url, directory)
    private, public, created = init_signing(where)
    emit(
        session,
        {"private_key": str(private), "public_key": str(public), "created": created},
        line(M.KEY_CREATED if created else M.KEY_KEPT, public=public, dir=where),
    )
    if created and not session.json:
        click.echo(line(M.KEY_CREATED_NOTE, dir=where), err=True)
