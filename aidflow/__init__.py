"""aidflow: an event-sourced engine for closed-loop aid to new university students.

``from aidflow import Office`` is the library's entry point: ``Office.open(url)`` gives
the store with its views, every command (``office.handle(...)``) and every question.
``AidFlow`` is the command side alone. Names are loaded on first use so that the command
line starts quickly.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["AidFlow", "Office", "Policy", "ReadModels", "__version__"]

if TYPE_CHECKING:
    from aidflow.application import AidFlow
    from aidflow.domain.policy import Policy
    from aidflow.office import Office
    from aidflow.projections import ReadModels

_WHERE = {
    "AidFlow": "aidflow.application",
    "Office": "aidflow.office",
    "Policy": "aidflow.domain.policy",
    "ReadModels": "aidflow.projections",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'aidflow' has no attribute {name!r}")
