"""What a slice may ask of the store while it decides one command.

A slice gets a :class:`Context`, never the application: the aggregates it loads, the
policy in force, the member acting (authorised once, by the pipeline), the moment every
event of the command is stamped with, and the few keyed lookups of personal data. So a
slice says plainly what it reads, and a test can hand it a context of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar
from uuid import UUID

from aidflow import commands as cmd
from aidflow.domain import canonical
from aidflow.domain.base import AidAggregate
from aidflow.domain.case import StudentCase
from aidflow.domain.errors import OutOfTown, StoreError, UnknownDepartment, said
from aidflow.domain.fund import Fund
from aidflow.domain.keys import Enrolment, Voucher
from aidflow.domain.policy import REGISTER_ID, Policy, PolicyRegister
from aidflow.domain.staff import StaffRegistry
from aidflow.domain.year import ProgrammeYear, year_id

if TYPE_CHECKING:
    from aidflow.application.records import Records
    from aidflow.privacy import Vault

A = TypeVar("A", bound=AidAggregate)


@dataclass(frozen=True)
class Member:
    """The staff member acting, as the registry held them when the command was authorised."""

    name: str
    roles: tuple[str, ...]
    department: str
    town: str


def current_policy(records: Records, base: Policy) -> Policy:
    """The policy in force: ``base`` (what the store was opened with), changed by the
    recorded ``policy set``s."""
    register = records.current(PolicyRegister, REGISTER_ID)
    return register.policy(base) if register is not None else base


def listed_department(policy: Policy, department: str) -> str:
    """``department`` in canonical form (卫健 is ``health``), refused unless ``policy`` lists it."""
    name = cmd.department_name(department)
    if name not in policy.departments:
        raise UnknownDepartment(
            said(
                "no department {name} in the policy; departments are {listed} (an admin changes them with `aidflow policy set departments ...`)",
                name=name,
                listed=", ".join(policy.departments),
            ),
            ids={"department": name},
        )
    return name


def enrolment_ids(vault: Vault, student_id: str, year: int) -> tuple[UUID, UUID]:
    """The ids a student's enrolment key for the year may have: keyed (this release) or, in
    a store written before it, derived from the ID itself (:meth:`Enrolment.create_id`)."""
    return years_enrolment_ids(vault, student_id, (year,))[0]


def years_enrolment_ids(
    vault: Vault, student_id: str, years: Sequence[int]
) -> list[tuple[UUID, UUID]]:
    """:func:`enrolment_ids` for each of ``years``, the student's keyed hash and canonical ID
    worked out once (a screening asks seven years of each of 50,000 students)."""
    digest, student = vault.key_id(student_id), canonical.national_id(student_id)
    return [(Enrolment.keyed_id(digest, y), Enrolment.canonical_id(student, y)) for y in years]


def enrolment_of(records: Records, vault: Vault, student_id: str, year: int) -> Enrolment | None:
    """The student's enrolment key for the year, under either of :func:`enrolment_ids`."""
    return enrolment_under(records, enrolment_ids(vault, student_id, year))


def enrolment_under(records: Records, ids: tuple[UUID, UUID]) -> Enrolment | None:
    """The enrolment key under the first of ``ids`` that holds one."""
    keyed, legacy = ids
    return records.find(Enrolment, keyed) or records.find(Enrolment, legacy)


def voucher_ids(number: str) -> tuple[UUID, ...]:
    """The ids a voucher number's key may be under: this release's form, then the legacy one."""
    return tuple(dict.fromkeys((Voucher.create_id(number), Voucher.legacy_id(number))))


def voucher_key(records: Records, number: str) -> Voucher | None:
    """The key a voucher number was issued under (this release's form, else the legacy one)."""
    for key_id in voucher_ids(number):
        found = records.find(Voucher, key_id)
        if found is not None:
            return found
    return None


@dataclass(frozen=True)
class FindingFacts:
    """What the audit's checks say of one finding now: its rule, its case or fund, and who
    recorded the events that raised it (none of whom may explain it)."""

    rule: str
    case_id: str | None
    fund_id: str | None
    raised_by: tuple[str, ...]


@dataclass(frozen=True)
class YearFacts:
    """What closing a programme year needs from the read side: the year's cases (each then
    decided from its own events) and the store's tree digest now."""

    cases: tuple[UUID, ...]
    digest: str
    digest_size: int


class Context:
    """One attempt at one command: what it may read, who is acting, and when."""

    def __init__(
        self,
        records: Records,
        vault: Callable[[], Vault],
        *,
        member: Member | None,
        moment: datetime,
        base_policy: Policy,
        authorise: Callable[[str, str | None], object],
        payable: Callable[[UUID], Sequence[UUID]] | None = None,
        findings: Callable[[str], FindingFacts | None] | None = None,
        year_facts: Callable[[int], YearFacts] | None = None,
    ) -> None:
        self._records = records
        self._vault = vault
        self._authorise = authorise
        self._payable = payable
        self._findings = findings
        self._year_facts = year_facts
        self._years: dict[int, ProgrammeYear | None] = {}
        self._absent: set[tuple[str, int]] = set()
        """Student-years looked up for a batch that have no key under either id (:meth:`look_up`)."""
        self._ids: dict[tuple[str, int], tuple[UUID, UUID]] = {}
        """Each student-year's key ids, made once per attempt (a keyed hash each)."""
        self.member = member
        self.moment = moment
        self.base_policy = base_policy
        self._policy: Policy | None = None
        self.funds: dict[UUID, Fund] = {}
        """The funds this attempt loaded (:meth:`fund`)."""
        self.after_commit: list[Callable[[], None]] = []
        """What must happen once the command's events are committed, and only then (a data
        key destroyed after its erasure is on record); the pipeline runs them."""

    # -- what the command reads --------------------------------------------------------

    def case(self, case_id: UUID) -> StudentCase:
        return self._records.case(case_id)

    def fund(self, fund_id: UUID) -> Fund:
        """The fund, one instance for the whole attempt (lent by the records; the pipeline
        gives it back once the command committed)."""
        if fund_id not in self.funds:
            self.funds[fund_id] = self._records.fund(fund_id)
        return self.funds[fund_id]

    def find(self, cls: type[A], aggregate_id: UUID) -> A | None:
        return self._records.find(cls, aggregate_id)

    def get(self, aggregate_id: UUID) -> AidAggregate | None:
        return self._records.get(aggregate_id)

    def events(self, aggregate_id: UUID) -> Iterator[AidAggregate.Event]:
        return self._records.events(aggregate_id)

    @property
    def policy(self) -> Policy:
        """The policy in force at this attempt (read once)."""
        if self._policy is None:
            self._policy = current_policy(self._records, self.base_policy)
        return self._policy

    @property
    def roles(self) -> list[str]:
        """The acting member's roles (for approval tiers); none when the registry itself
        authorises the command."""
        return [] if self.member is None else list(self.member.roles)

    def check_town(self, case: StudentCase) -> None:
        """Refuse unless the acting member works in the case's town (or in every town)."""
        towns = StaffRegistry.towns(self.member.town) if self.member is not None else frozenset()
        if not StaffRegistry.works_in(towns, str(case.town)):
            assert self.member is not None
            raise OutOfTown(
                said(
                    "{actor} visits households in {towns}; case {id} is in {town}",
                    actor=self.member.name,
                    towns=self.member.town,
                    id=case.id,
                    town=case.town,
                ),
                ids={"case_id": str(case.id), "actor": self.member.name},
            )

    def department(self, department: str) -> str:
        """A department the policy in force lists, in canonical form."""
        return listed_department(self.policy, department)

    def authorise(self, command: str, *, department: str | None = None) -> None:
        """Check the actor again for what only the loaded records tell (a liaison's
        department, known once the action is read)."""
        assert self.member is not None
        self._authorise(command, department)

    # -- keyed lookups of personal data ---------------------------------------------------

    def enrolment_of(self, student_id: str, year: int) -> Enrolment | None:
        if (student_id, year) in self._absent:
            return None  # looked up with the batch it belongs to: no such key
        return enrolment_under(self._records, self.enrolment_ids(student_id, year))

    def look_up(self, years: Sequence[tuple[str, Sequence[int]]]) -> None:
        """Which keys exist of each student's ``years`` (a batch of commands will ask about
        them), both ids of each, in one read of the store: :meth:`enrolment_of` then answers
        "none" for the others without a query."""
        pairs = [(student_id, y) for student_id, ys in years for y in ys]
        for student_id, ys in years:
            self._ids.update(
                zip(((student_id, y) for y in ys), self._years_ids(student_id, ys), strict=True)
            )
        found = self._records.existing([key for pair in pairs for key in self._ids[pair]])
        self._absent = {p for p in pairs if found.isdisjoint(self._ids[p])} if found else set(pairs)

    def enrolment_ids(self, student_id: str, year: int) -> tuple[UUID, UUID]:
        found = self._ids.get((student_id, year))
        if found is None:
            found = self._ids[student_id, year] = self._years_ids(student_id, (year,))[0]
        return found

    def _years_ids(self, student_id: str, years: Sequence[int]) -> list[tuple[UUID, UUID]]:
        return years_enrolment_ids(self._vault(), student_id, years)

    def keyed(self, kind: str, value: str) -> str:
        """A keyed hash of a canonical value (32 hex): found again, never reversed."""
        return self._vault().keyed(kind, value)[:32]

    def enrolment_id(self, student_id: str, year: int) -> UUID:
        """The id a new enrolment key gets: from a keyed hash, never the ID itself."""
        return self.enrolment_ids(student_id, year)[0]

    def voucher(self, number: str) -> Voucher | None:
        return voucher_key(self._records, number)

    def key_owners(self, key_id: str) -> list[str]:
        """Every aggregate whose personal data is under the student's data key ``key_id``."""
        return self._vault().owners_of(key_id)

    def destroy_key(self, key_id: str) -> None:
        """Destroy a student's data key now (finishing an erasure already on record)."""
        self._vault().erase(key_id)

    def key_erased(self, key_id: str) -> bool:
        """Whether the student's key, or a key filed under it, was destroyed (an erasure's
        destruction is one statement: all of them, or none)."""
        return self._vault().erased(key_id)

    def payable(self, fund_id: UUID) -> Sequence[UUID]:
        """The cases that may hold approved, unpaid money on ``fund_id`` (the read side's
        index; each is decided from its own events)."""
        if self._payable is None:
            raise StoreError(
                said(
                    "a payment list needs the read side to find the cases owed money: open the store with Office.open, or pass the candidates to AidFlow.issue_payment_list"
                )
            )
        return self._payable(fund_id)

    def last_rejection_at(self, case_id: UUID) -> datetime | None:
        """When the case was last rejected (its ``Rejected`` event's time), if ever."""
        found = None
        for recorded in self._records.events(case_id):
            if isinstance(recorded, StudentCase.Rejected):
                found = recorded.timestamp
        return found

    def finding(self, finding: str) -> FindingFacts | None:
        """What the checks say of finding ``finding`` now (open or explained), or None when
        they do not raise it; the read side's audit view answers."""
        if self._findings is None:
            raise StoreError(
                said(
                    "explaining a finding needs the audit view to find it: open the store with Office.open"
                )
            )
        return self._findings(finding)

    def year_facts(self, year: int) -> YearFacts:
        """The year's cases and the store's digest now (the read side answers)."""
        if self._year_facts is None:
            raise StoreError(
                said(
                    "closing a programme year needs the read side to find its cases: open the store with Office.open"
                )
            )
        return self._year_facts(year)

    def check_year_open(self, year: int) -> None:
        """Refuse an approval, secondary aid or payment for a case of a closed year."""
        found = self._year(year)
        if found is not None:
            found.check_open()

    def year_is_closed(self, year: int) -> bool:
        found = self._year(year)
        return found is not None and found.closed is not None

    def _year(self, year: int) -> ProgrammeYear | None:
        if year not in self._years:  # read once per command: a list asks it for every case
            self._years[year] = self._records.find(ProgrammeYear, year_id(year))
        return self._years[year]
