"""The Office's audit: the journal, the ledger, the rule checks, the report, the digest,
verification, proofs, signed bundles, explanations and what-ifs.

Every face gets these answers from here, so ``audit check``, ``GET /audit/check``, the
report and ``case explain`` judge each decision the same way: by the policy in force when
it was made (the store's opening policy, changed by the recorded ``policy set``s).
"""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from uuid import UUID

from aidflow import commands as cmd
from aidflow.application.context import FindingFacts, YearFacts
from aidflow.application.years import year_close
from aidflow.domain.clock import office_day, office_time
from aidflow.domain.errors import InvalidInput, said
from aidflow.domain.ledger import NOTICE_ENTRIES
from aidflow.domain.values import INT64_MAX
from aidflow.domain.year import ProgrammeYear, year_id
from aidflow.models import YearClose
from aidflow.office.base import OfficeBase, signing_key_dir
from aidflow.office.explain import FIELDS, Explanation, explain
from aidflow.office.results import AuditCheck, DigestReport, Notice, NoticeRow, Proof, VerifyReport
from aidflow.office.whatif import WhatIf, other_policy, what_if
from aidflow.privacy import keyless
from aidflow.projections import audit
from aidflow.projections.audit import proving
from aidflow.projections.audit.tree import aggregate_heads
from aidflow.projections.base import reading
from aidflow.projections.models import (
    Digest,
    JournalLine,
    Ledger,
    LedgerLine,
    ViewDrift,
    Violation,
)
from aidflow.proofs import keys
from aidflow.proofs.bundle import make_bundle, period_bounds
from aidflow.proofs.models import TREE_PREFIX, TreeHead
from aidflow.render import times_in
from aidflow.report import ReportData, render_report

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from aidflow.application import AidFlow


def _paid_in(
    entries: list[LedgerLine], start: date, end: date, zone: str
) -> tuple[dict[str, dict[str, int]], dict[str, list[int]]]:
    """Per case, what a public notice counts of the money paid in a period (grant, secondary
    aid, the last event's position) and the positions of the events that make it."""
    paid: dict[str, dict[str, int]] = {}
    made_by: dict[str, list[int]] = {}  # each row's events: a checker recomputes it
    for e in entries:
        sign = NOTICE_ENTRIES.get(e.entry)
        if sign is None or e.case_id is None or not start <= office_day(e.recorded_at, zone) <= end:
            continue
        row = paid.setdefault(e.case_id, {"grant": 0, "secondary": 0, "last": 0})
        row[sign[0]] += sign[1] * e.amount_fen
        row["last"] = max(row["last"], e.position)
        made_by.setdefault(e.case_id, []).append(e.position)
    return paid, made_by


def tree_digest(text: str) -> TreeHead:
    """A published tree digest, ``tree:SIZE:ROOT``; refused as bad input otherwise."""
    try:
        head = TreeHead.parse(text)
    except ValueError:
        raise InvalidInput(
            said("digest {text!r} is not tree:SIZE:SHA256HEX", text=text.strip())
        ) from None
    _bounded(head.size)
    return head


def chain_digest(text: str) -> Digest:
    """A published v0.1 chain digest, ``POSITION:HASH``; refused as bad input otherwise."""
    try:
        digest = Digest.parse(text)
    except ValueError:
        raise InvalidInput(
            said("digest {text!r} is not POSITION:SHA256HEX", text=text.strip())
        ) from None
    _bounded(digest.position)
    return digest


def _bounded(position: int) -> None:
    if position > INT64_MAX:
        raise InvalidInput(said("position {position} is too large", position=position))


class Exported(NamedTuple):
    """A signed bundle, how many events it holds, the digest they are proved against, and a
    case bundle's heads digest (publish it beside the tree digest)."""

    data: bytes
    events: int
    digest: DigestReport
    heads: str | None


class _StoreSource:
    """What a bundle is made from (:class:`aidflow.proofs.complete.Source`): the audit view's
    answers on one connection, every proof against ``head``."""

    def __init__(self, conn: Connection, flow: AidFlow, head: TreeHead) -> None:
        self.conn, self.flow, self.head = conn, flow, head
        self.tree = proving.tree_at(conn, head)

    def prove(self, position: int) -> dict[str, Any] | None:
        if self.tree.leaf_of_position(position)[0] >= self.head.size:
            return None
        return proving.inclusion(self.conn, self.flow, position, self.head, self.tree)

    def position_of_leaf(self, index: int) -> int:
        return self.tree.position_of_leaf(index)

    def position_of_version(self, aggregate_id: str, version: int) -> int | None:
        return audit.position_of_version(self.conn, UUID(aggregate_id), version)

    def position_at(self, moment: datetime) -> int:
        return audit.position_at(self.conn, moment)

    def heads(self) -> list[tuple[str, int, int]]:
        return aggregate_heads(self.conn, self.head.size)

    def positions_of(self, aggregate_id: str) -> list[int]:
        return audit.positions_of(self.conn, aggregate_id, self.head.size)


class Auditing(OfficeBase):
    """What an auditor asks."""

    def journal(
        self,
        *,
        aggregate_id: UUID | None = None,
        since: datetime | None = None,
        limit: int | None = None,
        after: int | None = None,
        reader: str | None = None,
    ) -> list[JournalLine]:
        """Every event's journal line in position order, personal data masked; one case's
        or fund's with ``aggregate_id``; page with ``after`` (the last position seen)."""
        self.may_read("read_audit", reader)
        return self.fresh().journal(
            aggregate_id=None if aggregate_id is None else str(aggregate_id),
            since=self.moment(since),
            limit=limit,
            after=after,
        )

    def ledger(
        self, *, as_of: datetime | None = None, entries: bool = False, reader: str | None = None
    ) -> Ledger:
        """The money ledger (totals by fund, kind, need, family category, town), now or as it
        stood at ``as_of``; its every movement with ``entries``."""
        self.may_read("read_money", reader)
        with self.past(at=as_of) as views:
            return views.ledger(entries=entries)

    def check(self, *, as_of: datetime | None = None, reader: str | None = None) -> AuditCheck:
        """Every rule, from the events alone, as history stood at ``as_of`` (timeliness judged
        at that moment); the audit view those checks read against a fresh replay; and every
        stored snapshot against its events (a forged one is a finding: ``snapshot_damaged``)."""
        self.may_read("read_audit", reader)
        as_of = self.moment(as_of)
        with self.past(at=as_of) as views:
            result = views.check_report(
                self.flow.current_policy(), now=as_of, base=self.flow.policy
            )
        agreement = self.verify_views(["audit"])[0]
        damaged = [
            Violation(
                rule="snapshot_damaged",
                case_id=None,
                fund_id=str(f.aggregate_id),
                positions=[],
                message=said(
                    "the stored snapshot at version {version}: {problem}",
                    version=f.version,
                    problem=f.problem,
                ),
                subject=str(f.version),
            )
            for f in self.flow.verify_snapshots(page_size=self.views.page_size).findings
        ]
        violations = [*result.violations, *damaged, *self._handouts_unrecorded()]
        return AuditCheck(
            ok=not violations and agreement.ok,
            violations=violations,
            disposed=result.disposed,
            checked=result.checked,
            events=result.events,
            position=result.position,
            audit_view=agreement,
        )

    def _handouts_unrecorded(self) -> list[Violation]:
        """Data keys the database handed to persons' logins beyond those on record: someone
        was given a key inside a transaction they rolled back (issue 21 §5)."""
        counted = self.flow.vault.key_handouts()
        if counted is None or counted[0] <= counted[1]:
            return []
        handed, recorded = counted
        return [
            Violation(
                rule="key_handout_unrecorded",
                case_id=None,
                fund_id=None,
                positions=[],
                message=said(
                    "the database handed out {handed} data keys to persons' logins and {recorded} are on record: a login was given a key in a transaction it rolled back (see aidflow_key_reads)",
                    handed=handed,
                    recorded=recorded,
                ),
                subject=str(handed),
            )
        ]

    def finding_facts(self, finding: str, *, reader: str | None = None) -> FindingFacts | None:
        """What the checks say now of ``finding`` (open or explained), for ``audit dispose``:
        its rule, case or fund, and who recorded the events that raised it."""
        self.may_read("read_audit", reader)
        views = self.fresh()
        result = views.check_report(self.flow.current_policy(), base=self.flow.policy)
        every = [*result.violations, *(d.violation for d in result.disposed)]
        found = next((v for v in every if v.id == finding), None)
        if found is None:
            return None
        actors = views.actors_at(found.positions)
        return FindingFacts(
            rule=found.rule,
            case_id=found.case_id,
            fund_id=found.fund_id,
            raised_by=tuple(sorted(set(actors.values()))),
        )

    def verify_views(
        self, names: list[str] | tuple[str, ...] = (), *, reader: str | None = None
    ) -> list[ViewDrift]:
        """Each named view (all when none) against a fresh replay of the store up to its
        position: the first differing table and key of any that drifted."""
        self.may_read("read_audit", reader)
        keyless = not self.flow.vault.opens_values()  # an auditor's copy: compared without
        return self.views.verify_views(self.flow, names, keyless=keyless)

    def year_facts(self, year: int, *, reader: str | None = None) -> YearFacts:
        """What closing ``year`` needs of the read side: its cases and the digest now."""
        self.may_read("read_money", reader)
        views = self.fresh()
        head = views.tree_head()
        return YearFacts(
            cases=tuple(views.cases_of_year(year)), digest=str(head), digest_size=head.size
        )

    def year(self, year: int, *, reader: str | None = None) -> YearClose:
        """Programme ``year``'s close as recorded: open, proposed, or closed with its totals."""
        self.may_read("read_money", reader)
        return year_close(year, self.flow.records.find(ProgrammeYear, year_id(year)))

    def digest(self, *, reader: str | None = None) -> DigestReport:
        """The digest to publish: the tree head, and the v0.1 chain's head beside it."""
        self.may_read("read_audit", reader)
        views = self.fresh()
        head = views.tree_head()
        chain = views.digest()
        return DigestReport(
            **dict(head), digest=str(head), chain=str(chain), heads=views.heads_digest(head.size)
        )

    def report(
        self, *, as_of: datetime | None = None, fmt: str = "text", reader: str | None = None
    ) -> str:
        """The audit report (text, json or html) in the current language: the ledger, the
        same checks as :meth:`check`, the audit view's agreement and the digest."""
        self.may_read("read_audit", reader)
        as_of = self.moment(as_of)
        check = self.check(as_of=as_of)
        digest = self.digest()
        with self.past(at=as_of) as views:
            ledger = views.ledger(entries=fmt == "html")
            roster = self.fresh().cases() if fmt == "html" else []
        data = ReportData(
            moment=office_time(as_of or datetime.now(tz=UTC), self.timezone).isoformat(
                timespec="seconds"
            ),
            ledger=ledger,
            violations=check.violations,
            events=check.events,
            position=check.position,
            drift="" if check.audit_view.ok else check.audit_view.message,
            digest=digest.digest,
            chain=digest.chain,
            roster=roster,
            disposed=check.disposed,
        )
        with times_in(self.timezone):
            return render_report(data, fmt)

    def verify(self, digest: str, *, reader: str | None = None) -> VerifyReport:
        """Recompute the record from the store against a published digest: a tree digest
        (``tree:SIZE:ROOT``, and the chain up to its last event) or a v0.1 chain digest
        (``POSITION:HASH``); and every stored snapshot against a replay of its events."""
        self.may_read("read_audit", reader)
        views = self.fresh()
        tree = chain = None
        if digest.strip().startswith(TREE_PREFIX + ":"):
            head = tree_digest(digest)
            tree = views.verify_tree(self.flow, head)
            link = views.chain_link(head)
            if link is not None:
                chain = views.verify(self.flow, link)
        else:
            chain = views.verify(self.flow, chain_digest(digest))
        snapshots = self.flow.verify_snapshots(page_size=views.page_size)
        parts = [p for p in (tree, chain, snapshots) if p is not None]
        return VerifyReport(
            ok=all(p.ok for p in parts), tree=tree, chain=chain, snapshots=snapshots
        )

    def prove(
        self,
        digest: str,
        *,
        position: int | None = None,
        since: str | None = None,
        reader: str | None = None,
    ) -> Proof:
        """A proof against ``digest``: that the event at ``position`` is in the record, or
        (``since`` an older digest) that the record only grew since then."""
        self.may_read("read_audit", reader)
        head = tree_digest(digest)
        views = self.fresh()
        if since is not None:
            document = views.prove_consistency(tree_digest(since), head)
        elif position is not None:
            document = views.prove(self.flow, position, head)
        else:
            raise InvalidInput(
                said("give a POSITION (inclusion proof) or --from OLD_DIGEST (consistency proof)")
            )
        return Proof(kind=document["kind"], hashes=len(document["path"]), document=document)

    def witness(self, key: Path, *, witness: str, actor: str) -> dict[str, Any]:
        """A second party co-signs the store's tree digest with its own key (issue 22 §4): the
        statement proves, by an RFC 9162 consistency proof, that this digest extends the one
        last witnessed; its hash is recorded (``witness.witnessed``). Returns the statement."""
        from aidflow.domain.witness import WITNESS_LOG_ID, WitnessLog
        from aidflow.proofs import witness as witnessing

        signer = keys.load_private_file(key)
        self.flow.pipeline.authorise(actor, "witness")  # refused before anything is signed
        digest = self.digest()
        head = TreeHead(size=digest.size, root=digest.root, position=digest.position)
        log = self.flow.records.find(WitnessLog, WITNESS_LOG_ID)
        previous = None if log is None else log.last_digest
        proof: list[str] = []
        if previous is not None:
            proof = list(self.fresh().prove_consistency(tree_digest(previous), head)["path"])
        statement = witnessing.sign(
            signer,
            witness=witness,
            digest=str(head),
            previous=previous,
            proof=proof,
            signed_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        self.flow.handle(
            cmd.RecordWitness(
                witness=witness,
                key_fingerprint=statement["key_fingerprint"],
                digest=str(head),
                statement=witnessing.statement_hash(statement),
                actor=actor,
            )
        )
        return statement

    def notice(self, period: str, *, actor: str) -> Notice:
        """The public notice (公示) of money paid in ``period`` (FROM..TO, the office's days): per student
        the masked name and ID, town, category, grant and secondary aid paid (net of returns),
        totals that recompute from the rows, the tree digest, and for each row an inclusion proof
        of its last payment (issue 22 §5) and of every event that makes its amounts (§8: a
        posted row or total changed is caught, :mod:`aidflow.proofs.notice`). Drawing it is
        recorded."""
        start, end, zone = period_bounds(period, self.timezone)
        views = self.fresh()
        digest = self.digest()
        head = TreeHead(size=digest.size, root=digest.root, position=digest.position)
        paid, made_by = _paid_in(views.ledger(entries=True).entries, start, end, zone)
        cases = {c.case_id: c for c in views.cases()}
        rows = [
            NoticeRow(
                ref=f"P{money['last']}",
                name=cases[case].name,
                student_id_masked=cases[case].student_id_masked,
                town=cases[case].town,
                family_category=cases[case].family_category,
                grant_fen=money["grant"],
                secondary_aid_fen=money["secondary"],
            )
            for case, money in sorted(paid.items(), key=lambda kv: kv[1]["last"])
        ]
        proofs = {r.ref: views.prove(self.flow, int(r.ref[1:]), head) for r in rows}
        events = {
            f"P{paid[case]['last']}": [views.prove(self.flow, p, head) for p in positions]
            for case, positions in made_by.items()
        }
        result = Notice(
            period=period,
            digest=str(head),
            rows=rows,
            grant_fen=sum(r.grant_fen for r in rows),
            secondary_aid_fen=sum(r.secondary_aid_fen for r in rows),
            proofs=proofs,
            events=events,
        )
        total = result.grant_fen + result.secondary_aid_fen
        self.flow.handle(
            cmd.RecordNotice(
                period=period,
                rows=len(rows),
                total_fen=max(0, total),
                digest=str(head),
                actor=actor,
            )
        )
        return result

    def sample(self, digest: str, size: int, *, reader: str | None = None) -> list[UUID]:
        """The cases ``aidflow-sample/1`` draws for ``digest`` (issue 22 §6): from every case
        opened within its tree, by a seed derived from the digest alone. The digest must be a
        head of this store's tree (now or earlier): else ``ProofUnavailable``."""
        self.may_read("read_audit", reader)
        from aidflow.proofs.sample import draw

        head = tree_digest(digest)
        views = self.fresh()
        views.prove_consistency(head, views.tree_head())  # a head of this very store
        return [UUID(c) for c in draw(str(head), views.cases_in_tree(head.size), size)]

    def export(
        self,
        *,
        case_id: UUID | None = None,
        period: str | None = None,
        keys_dir: Path | None = None,
        reader: str | None = None,
    ) -> Exported:
        """A signed bundle (zip) of one case's events or a period's, with their figures, their
        proofs against today's digest and what shows that none is missing (a case's heads
        digest; a period's run of consecutive events)."""
        self.may_read("read_audit", reader)
        if (case_id is None) == (period is None):
            raise InvalidInput(said("give --case CASE or --period FROM..TO"))
        key = keys.load_private(signing_key_dir(self.url, keys_dir))
        views = self.fresh()
        digest = self.digest()
        head = TreeHead(size=digest.size, root=digest.root, position=digest.position)
        bounds = None
        if case_id is not None:
            positions = views.case_positions(case_id)
        else:
            bounds = period_bounds(period or "", self.timezone)
            positions = views.period_positions(bounds)
        base = dict(asdict(self.flow.policy))  # the recorded changes are in the bundle
        with reading(views.engine) as conn:
            made = make_bundle(
                _StoreSource(conn, self.flow, head),
                head,
                positions,
                base,
                key,
                case_id=None if case_id is None else str(case_id),
                period=bounds,
            )
        heads = None if made.heads is None else str(made.heads)
        return Exported(made.data, made.events, digest, heads)

    def explain(
        self,
        case_id: UUID,
        *,
        fields: tuple[str, ...] = (),
        as_of: datetime | None = None,
        reader: str | None = None,
    ) -> Explanation:
        """Why the case has its figures and status: the events behind each, what allowed
        them, and this case's findings of the same checks as :meth:`check` at that moment.
        ``fields``: the figures to explain (none named: every one)."""
        self.may_read("read_cases", reader)
        fields = fields or FIELDS
        unknown = [f for f in fields if f not in FIELDS]
        if unknown:
            raise InvalidInput(
                said(
                    "no such figure {field!r}; figures are {fields}",
                    field=unknown[0],
                    fields=", ".join(FIELDS),
                )
            )
        as_of = self.moment(as_of)
        violations = self.check(as_of=as_of).violations
        with self.past(at=as_of) as views, self.without_key():
            return explain(
                self.flow, views, case_id, as_of=as_of, fields=fields, violations=violations
            )

    def what_if(
        self, changes: dict[str, str], *, year: int | None = None, reader: str | None = None
    ) -> WhatIf:
        """Every recorded approval decided again under the policy in force with ``changes``
        (keys as ``policy set`` takes them), in memory; nothing is written."""
        self.may_read("read_audit", reader)
        if not changes:
            raise InvalidInput(
                said("give --policy FILE or at least one setting (--cap, --set KEY=VALUE)")
            )
        policy = other_policy(self.flow.current_policy(), changes)
        cases = [UUID(str(c.case_id)) for c in self.fresh().cases(year=year)]
        with self.without_key():
            return what_if(self.flow, cases, policy, year=year)

    def without_key(self) -> AbstractContextManager[None]:
        """An auditor's replay of events when this process holds no master key (issue 22 §3):
        every figure and rule works on masked data, so a sealed value reads ``[sealed]``
        instead of stopping the question; with the key, nothing changes."""
        return contextlib.nullcontext() if self.flow.vault.opens_values() else keyless()
