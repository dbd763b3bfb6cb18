"""The Office's questions about cases: the dossier, lists, search, history."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from aidflow import commands as cmd
from aidflow.application import HANDLERS
from aidflow.domain import canonical
from aidflow.domain.errors import (
    AidflowError,
    ConcurrencyConflict,
    InvalidInput,
    StoreError,
    message_of,
    render,
    said,
)
from aidflow.domain.masking import plain
from aidflow.domain.staff import StaffRegistry
from aidflow.domain.values import CaseStatus
from aidflow.i18n import messages as M
from aidflow.i18n import tr, words
from aidflow.imports.steps import read_steps
from aidflow.imports.values import parse_family_category
from aidflow.models import EventRecord, ImportedRow, StepImport, VisitList
from aidflow.office.base import OfficeBase
from aidflow.office.results import RevealedDossier
from aidflow.privacy import revealing
from aidflow.projections.models import CaseSummary, Dossier, DueItem, Queue


def _said(exc: AidflowError) -> str:
    """A refusal's sentence in the current language."""
    return render(message_of(exc), tr)


def case_status(text: str) -> str:
    """A case status as the domain spells it (or as the catalogues do: 已发放 for ``paid``);
    refused with the valid ones otherwise."""
    return words.parse_enum(CaseStatus, text, what=M.WORD_CASE_STATUS).value


class Casework(OfficeBase):
    """Cases as the people working them ask about them."""

    def dossier(
        self,
        case_id: UUID,
        *,
        as_of: datetime | None = None,
        version: int | None = None,
        reader: str | None = None,
    ) -> Dossier:
        """The dossier (一人一档) now, as of a moment, or as of one of its versions."""
        self.may_read("read_cases", reader)
        if as_of is not None and version is not None:
            raise InvalidInput(said("give --as-of or --version, not both"))
        position = None if version is None else self.position_of_version(case_id, version)
        with self.past(at=as_of, position=position) as views:
            return views.dossier(str(case_id))

    def revealed_dossier(self, c: cmd.Reveal) -> RevealedDossier:
        """The dossier with the student's national ID, name and account in full, for a
        role that may see them; the reveal is recorded on the case first."""
        person = self.flow.reveal(c)
        return RevealedDossier(personal_data=person, dossier=self.dossier(c.case_id))

    def cases(
        self,
        *,
        status: str | None = None,
        town: str | None = None,
        category: str | None = None,
        year: int | None = None,
        student: str | None = None,
        limit: int | None = None,
        reader: str | None = None,
    ) -> list[CaseSummary]:
        """Cases, filtered by status, town, family category (Chinese or English), programme
        year, or one person's national ID (every year's case, oldest first)."""
        self.may_read("read_cases", reader)
        views = self.fresh()
        found = views.cases(
            status=None if status is None else case_status(status),
            town=town,
            family_category=None if category is None else parse_family_category(category).value,
            year=year,
            limit=limit,
        )
        if student is not None:
            theirs = {str(case_id) for case_id in self.flow.cases_of(student)}
            found = sorted((c for c in found if c.case_id in theirs), key=lambda c: c.year)
        return found

    def visits(self, *, actor: str, town: str | None = None, reason: str = "") -> VisitList:
        """A verifier's visit list (走访清单, issue 24 §5): the cases awaiting a household
        visit in ``town``, else in every town the verifier is registered for, with names and
        IDs in full; the reveal is recorded on each case, in one save (none: nothing)."""
        if town is not None:
            wanted = StaffRegistry.towns(town)
        else:
            member = next(
                (m for m in self.flow.staff() if canonical.same_actor(m.name, actor)), None
            )
            wanted = StaffRegistry.towns(member.town) if member is not None else frozenset()
        awaiting = [
            c
            for status in (CaseStatus.APPLIED, CaseStatus.REOPENED)
            for c in self.cases(status=status.value)
            if StaffRegistry.works_in(wanted, c.town)
        ]
        if not awaiting:
            self.flow.authorise(actor, "reveal")  # an empty list is still only the verifier's
            return VisitList(reason=reason, rows=[])
        ids = [UUID(c.case_id) for c in sorted(awaiting, key=lambda c: (c.town, c.case_id))]
        listed: VisitList = self.flow.handle(
            cmd.RevealVisitList(case_ids=ids, reason=reason, actor=actor)
        )
        return listed

    def find(self, text: str, *, actor: str) -> list[CaseSummary]:
        """Cases by national ID (any spelling; confirmed against the store's student-year
        keys) or by whole name (confirmed against the case's own, sealed, name).

        Finding says who is a student, so it is for the roles that may reveal, and every
        search is recorded (who, by what, a keyed hash of the query, the cases found)
        before the answer is given; a refused actor gets no answer."""
        flow = self.flow
        flow.authorise(actor, "find")  # before a name is opened to be compared

        def enrolled(student_id: str, case: CaseSummary) -> bool:
            key = flow.enrolment_of(student_id, case.year)
            return key is not None and str(key.case_id) == case.case_id

        with revealing():  # a name is confirmed by opening the case's (issue 21 §5)
            found = self.fresh().find_cases(
                text,
                confirm=enrolled,
                confirm_name=lambda name, case: flow.is_named(case.case_id, name),
            )
        hits = [UUID(case.case_id) for case in found]
        flow.handle(cmd.RecordSearch(text=text, hits=hits, actor=actor))
        return found

    def history(self, aggregate_id: UUID, *, reader: str | None = None) -> list[EventRecord]:
        """Every stored event of a case or fund, oldest first, personal data masked (as a
        person reads it), each event's fields JSON-ready."""
        self.may_read("read_cases", reader)
        return [
            record.model_copy(update={"data": plain(record.data)})
            for record in self.flow.history(aggregate_id)
        ]

    def queue(self, department: str | None = None, *, reader: str | None = None) -> Queue:
        """Hardship awaiting consultation (most serious, then oldest, first) and the
        consultation actions owed; ``department`` (any spelling the policy lists) narrows
        the actions to that department's, and an unknown one is refused."""
        self.may_read("read_cases", reader)
        views = self.fresh()
        return views.queue(None if department is None else self.flow.policy_department(department))

    def due(
        self, *, within: int | None = None, department: str | None = None, reader: str | None = None
    ) -> list[DueItem]:
        """Payments approved and unpaid, and consultation actions owed, by due date."""
        self.may_read("read_cases", reader)
        views = self.fresh()
        listed = None if department is None else self.flow.policy_department(department)
        return views.due(self.flow.current_policy(), within=within, department=listed)

    def import_steps(
        self,
        kind: str,
        path: Path,
        *,
        actor: str,
        dry_run: bool = False,
        encoding: str | None = None,
        sheet: str | None = None,
    ) -> StepImport:
        """A sheet of verifications, approvals or follow-ups from the towns (issue 24 §4): each
        row the command its one-by-one CLI command builds, decided by the same rules and roles,
        one after another; every line accounted for. ``dry_run``: each decided against the
        store as it is, nothing recorded."""
        name, steps, rejected = read_steps(
            kind, path, actor=actor, case=self.case_id, fund=self.fund_id, encoding=encoding,
            sheet=sheet,
        )  # fmt: skip
        rows = [
            ImportedRow(line=p.line, case_id="", outcome="refused", reason=render(p.reason, tr))
            for p in rejected
        ]
        for step in steps:
            if step.command is None:
                rows.append(
                    ImportedRow(
                        line=step.line,
                        case_id=step.case,
                        outcome="refused",
                        reason=render(step.problem, tr),
                    )
                )
                continue
            try:
                outcome = self._run_step(step.command, dry_run)
            except (StoreError, ConcurrencyConflict):
                raise  # the store, not the row: stop, and the rows so far stay recorded
            except AidflowError as exc:
                rows.append(
                    ImportedRow(
                        line=step.line, case_id=step.case, outcome="refused", reason=_said(exc)
                    )
                )
                continue
            rows.append(ImportedRow(line=step.line, case_id=step.case, outcome=outcome))
        rows.sort(key=lambda row: row.line)
        return StepImport(kind=kind, file=name, dry_run=dry_run, rows=rows)

    def _run_step(self, command: cmd.Command[Any], dry_run: bool) -> str:
        if dry_run:
            would = self.flow.pipeline.rehearse(HANDLERS[type(command)], command)
            return "would_record" if would else "already"
        head = self.head()
        self.flow.handle(command)
        return "recorded" if self.head() != head else "already"
