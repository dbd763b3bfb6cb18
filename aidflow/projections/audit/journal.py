"""The journal's queries: every event in position order, and where a version of a case stands."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aidflow.domain.events import event_name
from aidflow.projections.audit.summaries import summary
from aidflow.projections.audit.tables import journal_table
from aidflow.projections.catalogue import Fund, StudentCase
from aidflow.projections.models import JournalLine


def journal(
    conn: Connection,
    *,
    aggregate_id: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
    after: int | None = None,
    upto: int | None = None,
) -> list[JournalLine]:
    """The journal in position order; ``after`` pages by position, ``upto`` is as of a position.

    Summaries are in the current language, made from each event's masked detail.

    Paging by position, never by time: the events of one command share a
    timestamp, so a page that ended inside them would miss or repeat some.
    """
    j = journal_table
    columns = [j.c[f] for f in JournalLine.model_fields if f != "summary"]
    query = sa.select(*columns, j.c.detail).order_by(j.c.position)
    if after is not None:
        query = query.where(j.c.position > after)
    if upto is not None:
        query = query.where(j.c.position <= upto)
    if aggregate_id is not None:
        query = query.where(j.c.aggregate_id == str(aggregate_id))
    if since is not None:
        query = query.where(j.c.recorded_at >= since)
    if limit is not None:
        query = query.limit(limit)
    lines = []
    for row in conn.execute(query).mappings():
        fields = dict(row)
        detail = fields.pop("detail")
        fields["summary"] = summary(fields["event_type"], detail)
        lines.append(JournalLine.model_validate(fields))
    return lines


def position_of_version(conn: Connection, aggregate_id: UUID, version: int) -> int | None:
    """The notification position of an aggregate's event at ``version``, if the journal has it."""
    j = journal_table
    position = conn.execute(
        sa.select(j.c.position).where(j.c.aggregate_id == str(aggregate_id), j.c.version == version)
    ).scalar_one_or_none()
    return None if position is None else int(position)


def positions_of(conn: Connection, aggregate_id: str, size: int) -> list[int]:
    """The positions of an aggregate's events among the tree's first ``size`` leaves, in order
    (a bundle's context carries such a record whole)."""
    j = journal_table
    query = (
        sa.select(j.c.position)
        .where(j.c.aggregate_id == aggregate_id, j.c.leaf_index < size)
        .order_by(j.c.position)
    )
    return [int(p) for p in conn.execute(query).scalars()]


def position_at(conn: Connection, moment: datetime) -> int:
    """The position a moment resolves to: the last event recorded at or before it (0: none).

    Events of one command share a timestamp, so they fall on the same side of
    any moment. Resolved once; every view is then asked as of that position.
    """
    j = journal_table
    position = conn.execute(
        sa.select(j.c.position)
        .where(j.c.recorded_at <= moment)
        .order_by(j.c.position.desc())
        .limit(1)
    ).scalar_one_or_none()
    return 0 if position is None else int(position)


def cases_in_tree(conn: Connection, size: int) -> list[str]:
    """Every case opened within the first ``size`` leaves of the tree (a sample's population)."""
    j = journal_table
    query = sa.select(j.c.aggregate_id).where(
        j.c.event_type == event_name(StudentCase.Applied), j.c.leaf_index < size
    )
    return sorted(str(r) for r in conn.execute(query).scalars())


def case_positions(conn: Connection, case_id: str) -> list[int]:
    """A case's events and the openings of the funds they name (a case bundle's events)."""
    j = journal_table
    rows = list(
        conn.execute(sa.select(j.c.position, j.c.detail).where(j.c.aggregate_id == case_id))
    )
    funds = {str(d.get("fund_id")) for _, d in rows if isinstance(d, dict) and d.get("fund_id")}
    opened = conn.execute(
        sa.select(j.c.position).where(
            j.c.event_type == event_name(Fund.Opened), j.c.aggregate_id.in_(sorted(funds))
        )
    ).scalars()
    return [int(p) for p, _ in rows] + [int(p) for p in opened]


def period_positions(conn: Connection, low: datetime, high: datetime) -> list[int]:
    """Every event recorded from ``low`` to ``high`` (a period's first and last moments)."""
    j = journal_table
    query = sa.select(j.c.position).where(j.c.recorded_at >= low, j.c.recorded_at <= high)
    return [int(p) for p in conn.execute(query).scalars()]
