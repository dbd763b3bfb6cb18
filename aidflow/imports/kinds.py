"""The kinds of casework sheet that come back from the towns (issue 24 §4), by name alone:
the command line lists them without loading the readers (:mod:`aidflow.imports.steps` keeps
the columns of each)."""

KINDS = ("verifications", "approvals", "follow-ups")
