"""The read side: dossiers, the consultation queue and the audit views, all replayable."""

from aidflow.projections.read_models import ReadModels

__all__ = ["ReadModels"]
