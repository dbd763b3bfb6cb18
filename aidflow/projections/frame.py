"""The views inside the ``eventsourcing`` projection frame.

``ViewProjection`` is an ``eventsourcing.projection.Projection`` whose view is
one of our SQL views, so the library's ``ProjectionRunner`` machinery can drive
it one event at a time. ``ReadModels.catch_up``/``follow`` drive the very same
``SQLView.process`` in pages, which is what the CLI and the follower use.

The audit view is not offered here: its hash chain is computed over each
event's *stored* bytes, which the library's subscription does not hand to a
projection (it gives decoded events), and re-encoding would not reproduce
encrypted records. It runs under ``ReadModels``, which reads stored records.
"""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from eventsourcing.persistence import Mapper, Notification, Tracking
from eventsourcing.projection import Projection

from aidflow.projections.audit import AuditView
from aidflow.projections.base import Envelope, SQLView


class ViewProjection(Projection[SQLView]):
    """Feeds each (event, tracking) pair to the view as a one-event page."""

    name = "aidflow"

    def __init__(self, view: SQLView, mapper: Mapper[Any]) -> None:
        if isinstance(view, AuditView):
            raise TypeError(
                "the audit view chains stored bytes; run it with ReadModels.follow() instead"
            )
        super().__init__(view)
        self.mapper = mapper

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        stored = self.mapper.to_stored_event(domain_event)
        record = Notification(
            id=tracking.notification_id,
            originator_id=stored.originator_id,
            originator_version=stored.originator_version,
            topic=stored.topic,
            state=stored.state,
        )
        self.view.process(tracking.application_name, [Envelope(record, domain_event)])
