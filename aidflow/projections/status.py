"""How current each view is, and whether it may be read: the runner's status and query guard.

Neither writes: status reads the tracking record and the store's head, and the
guard refuses a query on a view that stopped or was damaged, so that rows out of
date are never answered as if they were current.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection, Engine

from aidflow.domain.errors import StoreDamaged, StoreError, said
from aidflow.projections.base import reading
from aidflow.projections.models import ViewStatus
from aidflow.projections.source import EventSource
from aidflow.projections.tracking import Failure, failures, positions_and_failures


def ahead(position: int, last: int) -> str:
    """The damage of a view whose position is beyond the store's last event."""
    return (
        f"its position {position} is ahead of the store's last event {last}: it holds events "
        "this store does not have (a restored, replaced or truncated database)"
    )


def statuses(engine: Engine, names: Iterable[str], source: EventSource) -> list[ViewStatus]:
    """Each named view's position, how far behind the store it is, and why it stopped, if it did."""
    with reading(engine) as conn:
        tracked, failed = positions_and_failures(conn, source.name)
    last = source.recorder.max_notification_id()  # after the positions: never behind them
    result = []
    for name in names:
        position = tracked.get(name)
        failure = failed.get(name)
        damage = failure.error if failure is not None and failure.damaged else None
        if damage is None and position is not None and position > (last or 0):
            damage = ahead(position, last or 0)
        stalled = failure if failure is not None and not failure.damaged else None
        result.append(
            ViewStatus(
                name=name,
                position=position,
                head=last,
                behind=max(0, (last or 0) - (position or 0)),
                error=stalled.error if stalled else None,
                failed_position=stalled.position if stalled else None,
                damage=damage,
            )
        )
    return result


@contextmanager
def guarded(
    engine: Engine, name: str, *, open_views: Iterable[str], outdated: Iterable[str]
) -> Iterator[Connection]:
    """A read-only connection for a query on one view, refused when the view has stopped.

    A stopped view's rows are out of date; answering from them would look
    current, so the query raises instead, naming the cause and the remedy.
    """
    if name not in open_views:
        raise StoreError(
            said("the {name} view is not open here (open it with names=[{name!r}])", name=name)
        )
    if name in outdated:
        raise StoreError(
            said(
                "the {name} view in this read-only store was written at another schema version; open the store once without mode=ro so that it is rebuilt",
                name=name,
            ),
            ids={"view": name},
        )
    with reading(engine) as conn:
        failure = failures(conn).get(name)
        if failure is not None:
            raise _refusal(name, failure)
        yield conn


def _refusal(name: str, failure: Failure) -> StoreError:
    remedy = f"run `aidflow projections rebuild {name}` (ReadModels.rebuild(flow, [{name!r}]))"
    ids = {"view": name, "position": str(failure.position)}
    if failure.damaged:
        return StoreDamaged(f"the {name} view is damaged: {failure.error}; {remedy}", ids=ids)
    return StoreError(
        f"the {name} view stopped at position {failure.position}: {failure.error}. "
        f"Its rows are out of date, so it is not queried: fix the cause, then {remedy}; "
        "each new process also retries it from where it stopped",
        ids=ids,
    )
