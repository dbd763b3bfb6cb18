"""aidflow: an event-sourced engine for closed-loop aid to new university students."""

from aidflow.application import AidFlow
from aidflow.domain.policy import Policy

__all__ = ["AidFlow", "Policy", "__version__"]

__version__ = "0.1.0"
