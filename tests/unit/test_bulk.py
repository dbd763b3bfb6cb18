"""Bulk work with the cyclic collector paused or told to skip what is held: the collector is
given back as it was, whatever happens inside, and nothing is freed differently."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from aidflow.bulk import collector_paused, held_unscanned
from aidflow.domain.errors import InvalidInput
from aidflow.imports.table import read_table
from aidflow.office.screening import REGISTRY_COLUMNS


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    (gc.enable if enabled else gc.disable)()


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_the_collector_is_paused_inside_and_enabled_again_after_an_error() -> None:
    gc.enable()
    with pytest.raises(RuntimeError), collector_paused():
        assert not gc.isenabled()
        raise RuntimeError
    assert gc.isenabled()


def test_a_collector_the_host_turned_off_stays_off() -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_no_automatic_collection_while_paused_and_the_cycles_are_freed_after() -> None:
    gc.enable()
    with collector_paused():
        node = weakref.ref(_Node())
        kept = [[] for _ in range(100_000)]  # far past the count that starts a collection
        assert node() is not None and kept
    gc.collect()
    assert node() is None


def test_what_was_held_is_scanned_again_after_the_block_even_after_an_error() -> None:
    held = weakref.ref(_Node())
    with pytest.raises(RuntimeError), held_unscanned():
        assert gc.get_freeze_count() > 0
        gc.collect()
        assert held() is not None  # held when the block began: not scanned inside it
        raise RuntimeError
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert held() is None


def test_while_held_the_collector_runs_only_between_batches_and_frees_their_cycles() -> None:
    gc.enable()
    with held_unscanned() as between_batches:
        assert not gc.isenabled()
        dropped = weakref.ref(_Node())  # a batch's cycle, garbage before the batch ends
        kept = [[] for _ in range(100_000)]  # far past the count that starts a collection
        assert dropped() is not None and kept
        between_batches()
        assert dropped() is None
    assert gc.isenabled()


def test_while_held_a_collector_the_host_turned_off_is_not_run_between_batches() -> None:
    gc.disable()
    with held_unscanned() as between_batches:
        dropped = weakref.ref(_Node())
        between_batches()
        assert dropped() is not None
    assert not gc.isenabled()


def test_reading_a_list_gives_the_collector_back_when_the_file_is_refused(tmp_path: Path) -> None:
    gc.enable()
    path = tmp_path / "registry.csv"
    path.write_text("national_id,category,town\n" + '"unclosed,dibao,Gaoping\n', "utf-8")
    with pytest.raises(InvalidInput):
        read_table(path, REGISTRY_COLUMNS)
    assert gc.isenabled()
