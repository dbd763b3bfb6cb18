"""The read side: dossiers, the consultation queue and the audit views, all replayable.

``ReadModels`` is the public facade; ``EventSource`` is what it needs of a store
(``AidFlow`` is one).
"""

from aidflow.projections.read_models import ReadModels
from aidflow.projections.source import EventSource, NotifyingSource

__all__ = ["EventSource", "NotifyingSource", "ReadModels"]
