"""Imports of the lists offices send: admission lists, registries, later bank statements.

:mod:`aidflow.imports.table` reads a CSV or .xlsx file so that every line is
accounted for; :mod:`aidflow.imports.values` turns the offices' spellings into
domain values. The names load on first use (PEP 562), so the command line can name the kinds
of sheet (:mod:`aidflow.imports.kinds`) without loading the readers: ``aidflow --help`` stays
quick.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aidflow.imports.table import Column, Record, RowProblem, Table, read_table
    from aidflow.imports.values import (
        canonical_label,
        parse_account,
        parse_family_category,
        parse_national_id,
    )

_WHERE = {
    "Column": "aidflow.imports.table",
    "Record": "aidflow.imports.table",
    "RowProblem": "aidflow.imports.table",
    "Table": "aidflow.imports.table",
    "read_table": "aidflow.imports.table",
    "canonical_label": "aidflow.imports.values",
    "parse_account": "aidflow.imports.values",
    "parse_family_category": "aidflow.imports.values",
    "parse_national_id": "aidflow.imports.values",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_WHERE[name]), name)


__all__ = [
    "Column",
    "Record",
    "RowProblem",
    "Table",
    "canonical_label",
    "parse_account",
    "parse_family_category",
    "parse_national_id",
    "read_table",
]
