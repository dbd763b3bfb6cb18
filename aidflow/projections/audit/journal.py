"""The journal's queries: every event in position order, and where a version of a case stands."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aidflow.projections.audit.tables import journal_table
from aidflow.projections.models import JournalLine


def journal(
    conn: Connection,
    *,
    aggregate_id: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
) -> list[JournalLine]:
    j = journal_table
    query = sa.select(*[j.c[f] for f in JournalLine.model_fields]).order_by(j.c.position)
    if aggregate_id is not None:
        query = query.where(j.c.aggregate_id == str(aggregate_id))
    if since is not None:
        query = query.where(j.c.recorded_at >= since)
    if limit is not None:
        query = query.limit(limit)
    return [JournalLine.model_validate(dict(r)) for r in conn.execute(query).mappings()]


def position_of_version(conn: Connection, aggregate_id: UUID, version: int) -> int | None:
    """The notification position of an aggregate's event at ``version``, if the journal has it."""
    j = journal_table
    position = conn.execute(
        sa.select(j.c.position).where(j.c.aggregate_id == str(aggregate_id), j.c.version == version)
    ).scalar_one_or_none()
    return None if position is None else int(position)
