"""``aidflow keys``: the Ed25519 key that signs export bundles; the master key of personal data."""

from __future__ import annotations

from pathlib import Path

import click

from aidflow.cli.helptext import HelpGroup
from aidflow.cli.session import Session, emit, global_options, pass_session
from aidflow.i18n import messages as M
from aidflow.render import line


@click.group("keys", cls=HelpGroup)
@global_options
def keys_group() -> None:
    """The master key of personal data (init, rotate) and the export bundles' signing key."""


@keys_group.command("init-signing")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="The key directory (default: $AIDFLOW_KEYS, else aidflow-keys beside the database).",
)
@global_options
@pass_session
def keys_init_signing(session: Session, directory: Path | None) -> None:
    """Create the bundle signing key (once); print the public key's path to give auditors."""
    from aidflow.office import Office

    private, public, created = Office.init_signing(session.url, directory)
    where = private.parent
    emit(
        session,
        {"private_key": str(private), "public_key": str(public), "created": created},
        line(M.KEY_CREATED if created else M.KEY_KEPT, public=public, dir=where),
    )
    if created and not session.json:
        click.echo(line(M.KEY_CREATED_NOTE, dir=where), err=True)


# -- issue 11: the master key that protects personal data --------------------------------------


@keys_group.command("init")
@global_options
@pass_session
def keys_init(session: Session) -> None:
    """Create the master key that encrypts personal data (once, before the first case).

    The key file is $AIDFLOW_KEY_FILE, else beside a SQLite database (office.db.key),
    else aidflow.key; it is created readable by its owner only.
    """
    from aidflow.office import Office

    path, created = Office.init_master_key(session.url)
    emit(
        session,
        {"key_file": str(path), "created": created},
        line(M.MASTER_KEY_CREATED if created else M.MASTER_KEY_KEPT, path=path),
    )
    if created and not session.json:
        click.echo(line(M.MASTER_KEY_NOTE, path=path), err=True)


@keys_group.command("rotate")
@click.option(
    "--to",
    "target",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the new key (default: the key file in use).",
)
@global_options
@pass_session
def keys_rotate(session: Session, target: Path | None) -> None:
    """Replace the master key (an admin's act, recorded with the new key's fingerprint):
    re-wrap every data key and the lookup secret under a new one.

    The new key is written beside the old file first (.new), the keys are re-wrapped in
    one transaction, then the new file replaces the old. Backups taken before need the
    old key: keep it with them.
    """
    # a store with staff needs its admin; a person's own login is who acts
    actor = (session.actor_name or "").strip() or session.own_login()
    target, count = session.office.rotate_master_key(target, actor=actor)
    emit(
        session,
        {"key_file": str(target), "rewrapped": count},
        line(M.MASTER_KEY_ROTATED, count=count, path=target),
    )
