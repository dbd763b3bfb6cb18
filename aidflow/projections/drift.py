"""Drift detection: do the live views hold what a fresh replay of the store gives?

A view's rows are derived data: someone with write access to the database can
edit them, and an edited event is only noticed by the views when they are
rebuilt. :func:`compare` replays the store up to the live view's position into a
scratch database and walks both, table by table in primary-key order, with a
checksum of each side; the first row that differs is named by table and key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aidflow.projections.base import to_json
from aidflow.projections.models import ViewDrift
from aidflow.projections.view import SQLView


def _blanked(row: tuple[Any, ...], at: dict[int, set[str] | None]) -> tuple[Any, ...]:
    """``row`` with the columns at ``at`` (or the keys named of a JSON column) left out."""
    cells = list(row)
    for index, keys in at.items():
        if keys is None:
            cells[index] = None
        elif isinstance(cells[index], dict):
            cells[index] = {k: v for k, v in cells[index].items() if k not in keys}
    return tuple(cells)


def _blank_at(table: sa.Table, columns: frozenset[str]) -> dict[int, set[str] | None]:
    names = [c.name for c in table.columns]
    at: dict[int, set[str] | None] = {}
    for spec in columns:
        column, _, key = spec.partition(".")
        index = names.index(column)
        if key:
            found = at.setdefault(index, set())
            if found is not None:
                found.add(key)
        else:
            at[index] = None
    return at


def _ordered(
    conn: Connection, table: sa.Table, blank: frozenset[str] = frozenset()
) -> Iterator[tuple[Any, ...]]:
    """Every row in primary-key order, byte order for text on every backend; ``blank``: the
    columns left out of the comparison."""
    at = _blank_at(table, blank)
    keys: list[Any] = []
    for column in table.primary_key.columns:
        if conn.dialect.name == "postgresql" and isinstance(column.type, sa.String):
            keys.append(column.collate("C"))
        else:
            keys.append(column)
    rows = conn.execute(sa.select(table).order_by(*keys).execution_options(yield_per=5000))
    for row in rows:
        yield _blanked(tuple(row), at) if at else tuple(row)


def compare(
    view: SQLView, live: Connection, fresh: Connection, position: int, *, keyless: bool = False
) -> ViewDrift:
    """Compare a view's live tables with the same tables replayed up to ``position``;
    ``keyless``: the replay was made without the master key, so the columns made from
    personal data (:attr:`SQLView.personal_columns`) are left out on both sides."""
    live_sum, fresh_sum = hashlib.sha256(), hashlib.sha256()
    first: tuple[str, list[Any], Any, Any] | None = None
    for table in view.metadata.sorted_tables:
        key_at = [list(table.columns).index(c) for c in table.primary_key.columns]
        blank = view.personal_columns.get(table.name, frozenset()) if keyless else frozenset()
        a, b = _ordered(live, table, blank), _ordered(fresh, table, blank)
        x, y = next(a, None), next(b, None)
        while x is not None or y is not None:
            kx = None if x is None else [x[i] for i in key_at]
            ky = None if y is None else [y[i] for i in key_at]
            if x is not None and (ky is None or kx <= ky):  # type: ignore[operator]
                live_sum.update(to_json([table.name, list(x)]).encode())
            if y is not None and (kx is None or ky <= kx):  # type: ignore[operator]
                fresh_sum.update(to_json([table.name, list(y)]).encode())
            if first is None:
                if kx == ky and x != y:
                    first = (table.name, kx or [], _row(table, x), _row(table, y))
                elif kx != ky:
                    if ky is None or (kx is not None and kx < ky):
                        first = (table.name, kx or [], _row(table, x), None)
                    else:
                        first = (table.name, ky, None, _row(table, y))
            if kx is not None and (ky is None or kx <= ky):
                x = next(a, None)
            if ky is not None and (kx is None or ky <= kx):
                y = next(b, None)
    live_digest, fresh_digest = live_sum.hexdigest(), fresh_sum.hexdigest()
    if first is None:
        return _agrees(view.name, position, live_digest, fresh_digest, keyless=keyless)
    table_name, key, live_row, fresh_row = first
    how = (
        "is not in the replay"
        if fresh_row is None
        else "is missing from the live view"
        if live_row is None
        else "differs from the replay"
    )
    return ViewDrift(
        view=view.name,
        position=position,
        ok=False,
        checksum=live_digest,
        replay_checksum=fresh_digest,
        table=table_name,
        key=[_plain(k) for k in key],
        live=live_row,
        replay=fresh_row,
        message=(
            f"the {view.name} view has drifted from the store: {table_name} row "
            f"{', '.join(map(str, key))} {how} (replayed up to position {position})"
        ),
    )


def _agrees(
    name: str, position: int, live_digest: str, fresh_digest: str, *, keyless: bool
) -> ViewDrift:
    without = " (without the master key: its columns made from personal data not compared)"
    return ViewDrift(
        view=name,
        position=position,
        ok=True,
        checksum=live_digest,
        replay_checksum=fresh_digest,
        message=f"the {name} view agrees with a replay of the store up to {position}"
        + (without if keyless else ""),
    )


def _plain(value: Any) -> Any:
    return value if isinstance(value, int | str | None) else str(value)


def _row(table: sa.Table, row: Any) -> dict[str, Any]:
    return {c.name: _plain(v) for c, v in zip(table.columns, row, strict=True)}
