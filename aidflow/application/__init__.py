"""The command side: the :class:`AidFlow` application, built as slices.

- :mod:`~aidflow.application.pipeline`: the steps every command takes (read-only refusal,
  idempotency, one moment, authorisation, save, the after-commit hook);
- :mod:`~aidflow.application.context`: what a slice may ask of the store;
- one module per slice: :mod:`~aidflow.application.staff` (staff and policy),
  :mod:`~aidflow.application.funds`, :mod:`~aidflow.application.cases`,
  :mod:`~aidflow.application.payments`, :mod:`~aidflow.application.personal`;
- :mod:`~aidflow.application.handlers`: command class -> slice;
- :mod:`~aidflow.application.replay`: aggregates, staff and policy as of a moment;
- :mod:`~aidflow.application.feed`: integration events for other services.
"""

from aidflow.application.app import AidFlow
from aidflow.application.handlers import HANDLERS
from aidflow.application.records import one_reading

__all__ = ["HANDLERS", "AidFlow", "one_reading"]
