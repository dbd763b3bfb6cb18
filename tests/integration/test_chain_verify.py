"""``chain.verify`` against a real store with the recorded links given by hand: a journal that
lags, a link that differs at the very end, digests that are wrong at position 0, and the exact
message an auditor reads in each case."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aidflow import AidFlow
from aidflow.projections import ReadModels
from aidflow.projections.audit.chain import GENESIS, chain_step, verify
from aidflow.projections.models import Digest
from tests.builders import government_fund, paid, register_staff


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[AidFlow, dict[int, str]]]:
    flow = AidFlow.open(f"sqlite:///{tmp_path / 'chain.db'}")
    register_staff(flow)
    paid(flow, government_fund(flow), 1)
    links: dict[int, str] = {}
    previous = GENESIS
    for record in flow.recorder.select_notifications(start=1, limit=1000):
        previous = chain_step(previous, record)
        links[record.id] = previous
    try:
        yield flow, links
    finally:
        flow.close()


def head(links: dict[int, str]) -> Digest:
    last = max(links)
    return Digest(position=last, hash=links[last])


@pytest.mark.parametrize("page_size", [1, 3, 1000])
def test_the_true_chain_verifies_in_any_page_size(
    store: tuple[AidFlow, dict[int, str]], page_size: int
) -> None:
    flow, links = store
    result = verify(flow, head(links), links, page_size)
    n = max(links)
    assert (result.ok, result.first_mismatch, result.checked) == (True, None, n)
    assert result.message == f"the store matches the digest: {n} events up to position {n}"


def test_the_views_digest_of_an_empty_store_is_genesis(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    flow = AidFlow.open(url)
    views = ReadModels.attach(flow, url)
    try:
        assert views.digest() == Digest(position=0, hash=GENESIS)
        result = views.verify(flow, Digest(position=0, hash=GENESIS))
        assert (result.ok, result.checked) == (True, 0)
    finally:
        views.close()
        flow.close()


def test_a_lagging_journal_is_checked_against_the_digest_alone(
    store: tuple[AidFlow, dict[int, str]],
) -> None:
    flow, links = store
    n = max(links)
    result = verify(flow, head(links), {}, 100)
    assert result.ok and result.first_mismatch is None
    assert result.message == (
        f"the store matches the digest: {n} events up to position {n} (the audit journal holds "
        "links up to position 0 only; later events were checked against the digest alone)"
    )
    partial = {p: h for p, h in links.items() if p <= 3}
    assert verify(flow, head(links), partial, 100).message.endswith(
        "(the audit journal holds links up to position 3 only; "
        "later events were checked against the digest alone)"
    )


def test_a_differing_last_link_is_named(store: tuple[AidFlow, dict[int, str]]) -> None:
    flow, links = store
    n = max(links)
    result = verify(flow, head(links), {**links, n: "f" * 64}, 100)
    assert (result.ok, result.first_mismatch) == (False, n)
    assert result.message == f"the store no longer matches from position {n}"


def test_a_link_for_a_missing_event_is_named(store: tuple[AidFlow, dict[int, str]]) -> None:
    flow, links = store
    n = max(links)
    result = verify(flow, head(links), {**links, n + 5: "a" * 64}, 100)
    assert (result.ok, result.first_mismatch) == (False, n + 5)
    assert result.message == (
        f"the store no longer matches from position {n + 5} (that event is missing)"
    )


@pytest.mark.parametrize("digest", [Digest(position=0, hash="1" * 64), None])
def test_a_wrong_digest_is_refused_even_at_position_0_or_with_the_genesis_hash(
    store: tuple[AidFlow, dict[int, str]], digest: Digest | None
) -> None:
    flow, links = store
    wrong = digest or Digest(position=max(links), hash=GENESIS)
    result = verify(flow, wrong, links if digest is None else {}, 100)
    assert not result.ok
    if digest is None:
        assert result.message == (
            "the store does not match the digest, and the recorded chain was rewritten to "
            f"match the store; the change lies at or before position {max(links)}"
        )
