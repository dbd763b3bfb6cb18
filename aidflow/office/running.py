"""Running the office: staff, policy and tokens; the event feed; the views' upkeep;
screening imports and the demo year; the keys."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from threading import Event

from aidflow import commands as cmd
from aidflow.application import feed
from aidflow.application.feed import IntegrationEvent
from aidflow.domain.errors import InvalidInput, MasterKeyWrong, NotAuthorised, said
from aidflow.models import IssuedToken, PolicyInForce, StaffMember
from aidflow.office.apart import rebuild_apart
from aidflow.office.base import OfficeBase
from aidflow.office.demo import DemoResult, run_demo
from aidflow.office.screening import ScreeningReport, screen
from aidflow.privacy import (
    KEY_ENV,
    key_file,
    key_fingerprint,
    new_master,
    parse_master,
    write_key_file,
)
from aidflow.projections.models import ViewStatus

Progress = Callable[[int], None]


class Running(OfficeBase):
    """The office's own upkeep."""

    # -- staff, policy, tokens --------------------------------------------------------

    def staff(
        self, *, as_of: datetime | None = None, reader: str | None = None
    ) -> list[StaffMember]:
        """Every staff member with roles, department and town, now or as registered then."""
        self.may_read("read_office", reader)
        return self.flow.staff(as_of=self.moment(as_of))

    def policy(self, *, as_of: datetime | None = None, reader: str | None = None) -> PolicyInForce:
        """Every policy value and the policy's version (0: the defaults), now or then."""
        self.may_read("read_office", reader)
        return self.flow.policy_at(self.moment(as_of))

    def issue_token(self, name: str, *, actor: str, days: int = 30) -> IssuedToken:
        """A bearer token for staff member ``name``, in force for ``days``: their own, or an
        admin's issue for them (recorded: ``audit check`` watches what is done under it).
        It replaces the member's earlier token; shown once, the store records its hash."""
        from aidflow import commands as cmd

        issued: IssuedToken = self.flow.handle(cmd.IssueToken(name=name, days=days, actor=actor))
        return issued

    def revoke_token(self, name: str, *, actor: str, reason: str = "") -> None:
        """Stop ``name``'s token now (the holder, or an admin); recorded."""
        from aidflow import commands as cmd

        self.flow.handle(cmd.RevokeToken(name=name, reason=reason, actor=actor))

    # -- the integration-event feed -----------------------------------------------------

    def events(
        self, *, after: int = 0, limit: int = 100, reader: str | None = None
    ) -> list[IntegrationEvent]:
        """Integration events after position ``after``, in order, personal data masked."""
        self.may_read("read_audit", reader)
        return feed.read(self.flow, after=after, limit=limit)

    def wait_for_events(
        self, *, after: int = 0, limit: int = 100, timeout: float = 0, reader: str | None = None
    ) -> list[IntegrationEvent]:
        """Like :meth:`events`, waiting up to ``timeout`` seconds for the first one."""
        self.may_read("read_audit", reader)
        return feed.wait_for(self.flow, after=after, limit=limit, timeout=timeout)

    def follow_events(
        self,
        *,
        after: int = 0,
        poll_seconds: float = 0.5,
        page: int = 500,
        stop: Event | None = None,
        reader: str | None = None,
    ) -> Iterator[IntegrationEvent]:
        """Every event after ``after``, then each new one as it is recorded, until ``stop``."""
        self.may_read("read_audit", reader)
        return feed.follow(self.flow, after=after, poll_seconds=poll_seconds, page=page, stop=stop)

    # -- the views' upkeep ----------------------------------------------------------------

    def catch_up_views(self, *, progress: Progress | None = None) -> int:
        """Apply every event not yet in the views (telling ``progress``); returns how many."""
        self._may_keep_views()
        with self._catching_up:
            return self.views.catch_up(self.flow, progress=progress)

    def _may_keep_views(self) -> None:
        """Refuse a person's login on a shared store the views' upkeep, before anything is
        written: the service keeps them, and the database grants a person no table of
        theirs (it refused such a rebuild only halfway, as an internal error)."""
        name = self.person
        if name is not None:
            raise NotAuthorised(
                said(
                    "{name} may not rebuild, follow or catch up the views: the office's service keeps them; run it under the service's login",
                    name=name,
                ),
                ids={"actor": name},
            )

    def view_names(self) -> list[str]:
        """The views the Office keeps: ``dossier``, ``queue``, ``audit``."""
        return list(self.views.VIEWS)

    def views_status(self, *, reader: str | None = None) -> list[ViewStatus]:
        """Each view's position against the store's head, and why it stopped, if it did."""
        self.may_read("read_office", reader)
        return self.views.status(self.flow)

    def rebuild(
        self, names: tuple[str, ...] = (), *, progress: Progress | None = None, jobs: int = 1
    ) -> int:
        """Drop the named views (all when none) and build them again from the events;
        returns how many events were read. ``jobs`` above 1: that many at a time, the heaviest
        here and the others each in a process of its own (:mod:`aidflow.office.apart`)."""
        self._may_keep_views()
        chosen = list(names) or self.view_names()
        if jobs <= 1 or len(chosen) <= 1:
            return self.views.rebuild(self.flow, names, progress=progress)
        read = rebuild_apart(self.url, chosen, jobs, progress=progress)
        self.views.forget()  # rebuilt by other processes
        self.views.catch_up(self.flow)  # what was recorded since each finished
        return read

    def follow_views(
        self,
        *,
        poll_seconds: float = 0.5,
        stop: Event | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        """Keep the views current until ``stop`` is set (a long-running follower)."""
        self._may_keep_views()
        self.views.follow(self.flow, stop=stop, poll_seconds=poll_seconds, on_batch=on_batch)

    # -- bulk work ----------------------------------------------------------------------

    def screen(
        self,
        admissions: Path,
        registry: Path,
        *,
        year: int,
        actor: str,
        dry_run: bool = False,
        progress: Progress | None = None,
        admissions_encoding: str | None = None,
        registry_encoding: str | None = None,
        admissions_sheet: str | None = None,
        registry_sheet: str | None = None,
        unmatched: bool = False,
    ) -> ScreeningReport:
        """Screening (信息筛查): a case for every admitted student of an eligible household;
        every admission row accounted for (``unmatched``: each student not matched, and why).
        A malformed file is refused whole."""
        report = screen(
            self.flow,
            admissions,
            registry,
            year=year,
            actor=actor,
            dry_run=dry_run,
            progress=progress,
            admissions_encoding=admissions_encoding,
            registry_encoding=registry_encoding,
            admissions_sheet=admissions_sheet,
            registry_sheet=registry_sheet,
            unmatched=unmatched,
        )
        self.fresh()
        return report

    def demo(self, *, seed: int = 2026, progress: Progress | None = None) -> DemoResult:
        """The article's programme year, built into this (empty) store."""
        return run_demo(self.flow, seed=seed, progress=progress)

    # -- keys -------------------------------------------------------------------------

    def _settle_staged(self, target: Path, staged: Path) -> None:
        """A staged key left by a rotation that was cut short: finish that rotation when its
        key is the one the store's keys are wrapped under (it was killed after its commit),
        drop it when the key in force still opens the store (killed before), and refuse when
        neither does. Never deletes the only key that opens the store."""
        if not staged.exists():
            return
        vault = self.flow.vault
        left = parse_master(staged.read_text(encoding="ascii"), str(staged))
        if vault.opens(left):
            staged.replace(target)
            vault.use_master(left, str(target))
            return
        if vault.opens(vault.master()):
            staged.unlink()
            return
        raise MasterKeyWrong(
            said(
                "neither {target} nor {staged} opens this store's keys; nothing was changed: find the key the store was last rotated to",
                target=str(target),
                staged=str(staged),
            ),
            ids={"key": str(target)},
        )

    def rotate_master_key(
        self, target: Path | None = None, *, actor: str | None = None
    ) -> tuple[Path, int]:
        """Replace the master key (an admin's act, on record: issue 21 §5): every data key and
        the lookup secret re-wrapped under a new one, in one transaction; the new key file
        replaces the old (or goes to ``target``); then ``staff.keys_rotated`` records who did
        it and the new key's fingerprint. Returns the key file and how many keys were
        re-wrapped. ``actor`` None: a store with no staff yet (nothing to record it in)."""
        registry = self.flow.staff_registry()
        if registry is not None:
            if actor is None:
                raise InvalidInput(said("give --actor: rotating the master key is an admin's act"))
            self.flow.pipeline.authorise(actor, "rotate_keys")  # refused before anything moves
        store = self.flow.vault.store
        if target is None:
            if os.environ.get(KEY_ENV):
                raise InvalidInput(
                    said(
                        "the master key comes from AIDFLOW_KEY: give --to PATH for the new key's file (then set AIDFLOW_KEY or AIDFLOW_KEY_FILE to it)"
                    )
                )
            target = key_file(store)
        staged = target.with_name(target.name + ".new")
        self._settle_staged(target, staged)
        text = new_master()
        write_key_file(staged, text)
        try:
            count = self.flow.vault.rotate(parse_master(text, str(staged)))
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
        staged.replace(target)
        if registry is not None and actor is not None:
            self.flow.handle(
                cmd.RecordKeyRotation(
                    fingerprint=key_fingerprint(parse_master(text, str(target))),
                    rewrapped=count,
                    actor=actor,
                )
            )
        return target, count
