"""Bearer tokens for the HTTP service: one per staff member, stored as SHA-256 hashes.

``aidflow staff token NAME`` issues a token (printed once) for a staff member already
in the registry; the table ``aidflow_token`` beside the event store keeps only its hash
and the staff name. Issuing a new token for a name revokes the old one.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

metadata = sa.MetaData()
token_table = sa.Table(
    "aidflow_token",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("name", sa.Text, nullable=False, index=True),
    sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
)
PREFIX = "afw_"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Tokens:
    """The token table in the store's database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine, checkfirst=True)

    @classmethod
    def open(cls, url: str) -> Tokens:
        from aidflow.projections.base import create_view_engine

        return cls(create_view_engine(url))

    def issue(self, name: str) -> str:
        """A new token for ``name`` (its earlier tokens stop working); shown only here."""
        token = PREFIX + secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(sa.delete(token_table).where(token_table.c.name == name))
            conn.execute(
                sa.insert(token_table).values(
                    token_hash=digest(token), name=name, issued_at=datetime.now(tz=UTC)
                )
            )
        return token

    def who(self, token: str) -> str | None:
        """The staff name a token was issued to, or None."""
        with self.engine.connect() as conn:
            name = conn.execute(
                sa.select(token_table.c.name).where(token_table.c.token_hash == digest(token))
            ).scalar()
        return None if name is None else str(name)

    def close(self) -> None:
        self.engine.dispose()
