"""Imports of the lists offices send: admission lists, registries, later bank statements.

:mod:`aidflow.imports.table` reads a CSV or .xlsx file so that every line is
accounted for; :mod:`aidflow.imports.values` turns the offices' spellings into
domain values.
"""

from aidflow.imports.table import Column, Record, RowProblem, Table, read_table
from aidflow.imports.values import (
    canonical_label,
    parse_account,
    parse_family_category,
    parse_national_id,
)

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
