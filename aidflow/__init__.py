"""aidflow: an event-sourced engine for closed-loop aid to new university students.

``from aidflow import AidFlow`` is the library's entry point. Names are loaded
on first use so that the command line starts quickly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["AidFlow", "Policy", "ReadModels", "__version__"]

if TYPE_CHECKING:
    from aidflow.application import AidFlow
    from aidflow.domain.policy import Policy
    from aidflow.projections import ReadModels


def __getattr__(name: str) -> Any:
    if name == "AidFlow":
        from aidflow.application import AidFlow

        return AidFlow
    if name == "Policy":
        from aidflow.domain.policy import Policy

        return Policy
    if name == "ReadModels":
        from aidflow.projections import ReadModels

        return ReadModels
    raise AttributeError(f"module 'aidflow' has no attribute {name!r}")
