"""What every part of the Office shares: the store, its views kept current, past views."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path
from uuid import UUID

from aidflow.application import AidFlow, one_reading
from aidflow.config import parse_url, person
from aidflow.domain.clock import local
from aidflow.domain.errors import (
    CaseNotFound,
    NotFound,
    UnknownStaff,
    ViewsBehind,
    said,
    store_failure,
)
from aidflow.domain.staff import REGISTRY_ID, StaffRegistry
from aidflow.projections import ReadModels
from aidflow.projections.dossier import whole_id
from aidflow.projections.source import Stored

KEYS_ENV = "AIDFLOW_KEYS"
VIEW_WAIT_S = 10.0
"""How long a person's login waits for the service's follower (``AIDFLOW_VIEW_WAIT``)."""


def signing_key_dir(url: str | None = None, explicit: Path | None = None) -> Path:
    """Where a store's bundle signing key is kept: ``explicit``, else ``$AIDFLOW_KEYS``, else
    ``aidflow-keys`` beside a SQLite database, else ``./aidflow-keys``."""
    if explicit is not None:
        return explicit
    if os.environ.get(KEYS_ENV):
        return Path(os.environ[KEYS_ENV])
    if url is not None:
        parsed = parse_url(url)
        if parsed.backend == "sqlite" and parsed.path not in ("", ":memory:"):
            return Path(parsed.path).resolve().parent / "aidflow-keys"
    return Path("aidflow-keys")


class OfficeBase:
    """The store (:attr:`flow`), its views (:attr:`views`) and how a query reaches them."""

    def __init__(self, flow: AidFlow, views: ReadModels, url: str, *, inline: bool) -> None:
        self.flow = flow
        self.views = views
        self.url = url
        self.inline = inline
        """The views catch up after every command of this process (and before every query):
        what the CLI and the HTTP service use; off for a follower, a rebuild, a status."""
        self._catching_up = threading.Lock()
        """One catch-up at a time: a service calls from several threads."""

    def catch_up(self, recorded: Sequence[Stored] = ()) -> None:
        """Apply to the views what this process just recorded (``recorded``), and anything
        other processes recorded since. A lock another session held past ``busy_timeout``
        (its positions, the store's write lock) is :class:`StoreBusy` to whoever asked,
        a library caller included, as it is to a command."""
        with self._catching_up:
            try:
                self.views.catch_up(self.flow, recorded=recorded)
            except Exception as exc:
                failed = store_failure(exc)
                if failed is None:
                    raise
                raise failed from exc

    @staticmethod
    def one_reading() -> AbstractContextManager[None]:
        """Inside, the staff registry and the policy are read once (an HTTP request: its
        token's holder and its command's authorisation from the same registry)."""
        return one_reading()

    def may_read(self, question: str, reader: str | None = None) -> None:
        """Refuse a question (:data:`~aidflow.domain.staff.READS`) its reader may not ask
        (issue 21 §3), before anything is read. The reader is the one a face names (a bearer
        token's holder), else a person's database login; with neither (an embedded store's
        holder, the store's owner or service) everything may be read, as the file allows."""
        reader = reader if reader is not None else person(self.flow.login)
        if reader is None:
            return
        registry = self.flow.records.current(StaffRegistry, REGISTRY_ID)
        if registry is None:
            raise UnknownStaff(
                said(
                    "{name} is not registered staff; an admin adds staff with `aidflow staff add`",
                    name=reader,
                ),
                ids={"actor": reader},
            )
        registry.authorise(reader, question)

    def fresh(self) -> ReadModels:
        """The views, current with the store when the Office keeps them inline; for a
        person's login on a shared store (which writes no view), once the service's follower
        has caught up with what the store held when asked (read your own writes)."""
        if self.inline:
            self.catch_up()
        elif self.kept_by_service:
            self._await_views()
        return self.views

    @property
    def person(self) -> str | None:
        """The name of a person's own PostgreSQL login (it acts as nobody else), else None."""
        return person(self.flow.login)

    @property
    def kept_by_service(self) -> bool:
        """A person's PostgreSQL login: the views are the service's to keep (issue 21 §1)."""
        return self.person is not None

    def _await_views(self) -> None:
        import time

        wait = float(os.environ.get("AIDFLOW_VIEW_WAIT", VIEW_WAIT_S))
        deadline = time.monotonic() + wait
        head = self.flow.recorder.max_notification_id() or 0
        while True:
            lagging = [s for s in self.views.status(self.flow) if (s.position or 0) < head]
            if not lagging:
                return
            if time.monotonic() >= deadline:
                raise ViewsBehind(
                    said(
                        "the views are at position {position}, the store at {head}, and they are kept by the office's service: start `aidflow projections follow` under the service's login (or `aidflow serve`), then ask again",
                        position=min(s.position or 0 for s in lagging),
                        head=head,
                    ),
                    ids={"view": lagging[0].name},
                )
            time.sleep(0.05)

    @property
    def timezone(self) -> str:
        """The office's clock (policy ``timezone``): its days, and how times are shown."""
        return self.flow.current_policy().timezone

    def moment(self, value: datetime | None) -> datetime | None:
        """An as-of moment in UTC; one without a zone (``--as-of 2026-08-29``) is a time on
        the office's clock, so every face reads a typed date the same way."""
        return None if value is None else local(value, self.timezone)

    @contextmanager
    def past(
        self, *, at: datetime | None = None, position: int | None = None
    ) -> Iterator[ReadModels]:
        """The views now, or as they stood at a past moment or position (answered by query;
        the case list and the queue from a scratch rebuild)."""
        at = self.moment(at)
        views = self.fresh()
        if at is None and position is None:
            yield views
            return
        then = views.as_of(self.flow, at=at, position=position)
        try:
            yield then
        finally:
            then.close()

    # -- references as people type them ------------------------------------------------

    def case_id(self, ref: str) -> UUID:
        """The case whose id is ``ref`` or starts with it (at least 6 characters); a whole
        id without a query (every HTTP read of a case came with two: this and its answer)."""
        whole = whole_id(ref)
        return whole if whole is not None else self.fresh().resolve_case(ref)

    def fund_id(self, ref: str) -> UUID:
        """The fund whose id is ``ref`` or starts with it (at least 6 characters), as
        :meth:`case_id` finds a case."""
        whole = whole_id(ref)
        return whole if whole is not None else self.fresh().resolve_fund(ref)

    def case_or_fund_id(self, ref: str) -> UUID:
        """A case's id or prefix, else a fund's."""
        try:
            return self.case_id(ref)
        except NotFound:
            return self.fund_id(ref)

    def position_of_version(self, case_id: UUID, version: int) -> int:
        """The store position of a case's event at ``version``."""
        position = self.fresh().position_of_version(case_id, version)
        if position is None:
            raise CaseNotFound(
                said("case {case_id} has no version {version}", case_id=case_id, version=version),
                ids={"case_id": str(case_id)},
            )
        return position

    def head(self) -> int:
        """The position of the newest stored event (0 when none)."""
        return int(self.flow.recorder.max_notification_id() or 0)
