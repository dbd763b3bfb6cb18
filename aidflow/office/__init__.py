"""The use-case layer: :class:`Office`, the one door every face (CLI, HTTP, report) asks."""

from aidflow.office.office import Office

__all__ = ["Office"]
