"""The read side: dossiers, the consultation queue and the audit views, all replayable.

``ReadModels`` is the public facade; ``EventSource`` is what it needs of a store
(``AidFlow`` is one). Loaded on first use: importing the views' answer models
(:mod:`aidflow.projections.models`) does not load the SQL behind them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aidflow.projections.read_models import ReadModels
    from aidflow.projections.source import EventSource, NotifyingSource

__all__ = ["EventSource", "NotifyingSource", "ReadModels"]

_WHERE = {
    "ReadModels": "aidflow.projections.read_models",
    "EventSource": "aidflow.projections.source",
    "NotifyingSource": "aidflow.projections.source",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'aidflow.projections' has no attribute {name!r}")
