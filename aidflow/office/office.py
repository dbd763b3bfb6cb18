"""The Office: the one use-case layer every face asks.

``Office.open(url)`` composes the store, its key vault and its views once, with the views
caught up inline after every command from the start. The CLI, the HTTP service and the
report ask it and nothing below it, so a question has one answer whichever face asks:
commands go to :meth:`Office.handle` (by command class), questions to its methods.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from aidflow import commands as cmd
from aidflow.application import HANDLERS, AidFlow, feed
from aidflow.config import parse_url, person, resolve_url
from aidflow.domain.clock import Clock, now
from aidflow.domain.errors import InvalidInput, said
from aidflow.domain.policy import DEFAULT_POLICY, Policy
from aidflow.domain.staff import REGISTRY_ID, StaffRegistry, token_hash
from aidflow.office.auditing import Auditing
from aidflow.office.casework import Casework
from aidflow.office.money import Money
from aidflow.office.running import Running
from aidflow.projections import ReadModels

R = TypeVar("R")


class Office(Casework, Money, Auditing, Running):
    """One store, its views and every question and use case a face needs."""

    COMMANDS: tuple[type[cmd.Command[Any]], ...] = tuple(HANDLERS)
    """Every command class :meth:`handle` runs (the application's own table)."""
    VIEWS: tuple[str, ...] = tuple(ReadModels.VIEWS)
    """The views the Office keeps (``dossier``, ``queue``, ``audit``)."""
    FEED_LIMIT = feed.MAX_LIMIT
    """The most integration events one read of the feed answers."""
    FEED_SCHEMA = feed.SCHEMA_VERSION
    """The integration events' schema version."""

    def __init__(self, flow: AidFlow, views: ReadModels, url: str, *, inline: bool = True) -> None:
        super().__init__(flow, views, url, inline=inline)
        flow.payable = views.payable_cases
        flow.findings = self.finding_facts
        flow.year_facts = self.year_facts
        if inline:
            flow.listeners.append(self.catch_up)
            self.catch_up()

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        policy: Policy = DEFAULT_POLICY,
        clock: Clock | None = None,
        inline: bool = True,
        create: bool = True,
    ) -> Office:
        """Open the store at ``url`` (else ``$AIDFLOW_DB``, else ``./aidflow.db``) with its
        views. ``inline=False`` leaves the views where they are (a follower, a rebuild, a
        status report manage them themselves). ``create=False``: a store that does not
        exist is refused (``NoSuchStore``), and nothing is made."""
        resolved = resolve_url(url)
        flow = AidFlow.open(resolved, policy=policy, clock=clock, create=create)
        try:
            views = ReadModels.open(resolved)
        except BaseException:
            flow.close()
            raise
        if person(flow.login) is not None:
            inline = False  # a person's login writes no view; the service keeps them
        try:
            return cls(flow, views, resolved, inline=inline)
        except BaseException:
            views.close()
            flow.close()
            raise

    def close(self) -> None:
        self.views.close()
        self.flow.close()

    def __enter__(self) -> Office:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def handle(self, c: cmd.Command[R]) -> R:
        """Run any command (its slice, by its class); the views see it before this returns."""
        if isinstance(c, cmd.IssuePaymentList):
            result: Any = self.pay_list(c)
            return result  # type: ignore[no-any-return]
        return self.flow.handle(c)

    def token_holder(self, token: str) -> str | None:
        """The staff member a bearer token was issued to, while it is in force and they hold
        a role (None: never issued, replaced, revoked, expired, or its holder's roles were
        all revoked: a token outlives no post)."""
        # read as every command reads it: cached while the registry's version is unchanged
        registry = self.flow.records.current(StaffRegistry, REGISTRY_ID)
        if registry is None:
            return None
        return registry.token_holder(token_hash(token), now())

    # -- a store's keys and roles, before (or without) opening it ------------------------------

    @staticmethod
    def resolve(url: str | None = None) -> str:
        """The store a URL names: ``url``, else ``$AIDFLOW_DB``, else ``sqlite:///aidflow.db``."""
        return resolve_url(url)

    @staticmethod
    def init_master_key(url: str | None = None) -> tuple[Path, bool]:
        """Create the master key file of the store at ``url`` (once; readable by its owner
        only); returns where it is and whether it was created now."""
        import os

        from aidflow.privacy import KEY_ENV, key_file, write_key_file

        if os.environ.get(KEY_ENV):
            raise InvalidInput(
                said(
                    "the master key is given by AIDFLOW_KEY; `aidflow keys init` makes key files only"
                )
            )
        path = key_file(parse_url(resolve_url(url)))
        return path, write_key_file(path)

    @staticmethod
    def init_signing(
        url: str | None = None, directory: Path | None = None
    ) -> tuple[Path, Path, bool]:
        """Create the bundle signing key (once): (private key, public key, created now?)."""
        from aidflow.office.base import signing_key_dir
        from aidflow.proofs.keys import init_signing

        return init_signing(signing_key_dir(resolve_url(url), directory))

    @staticmethod
    def database_roles(url: str | None = None, *, apply: bool = False) -> list[str]:
        """The PostgreSQL roles, grants and append function of the store (auditors read,
        persons append through the function, the service keeps what is derived); run on the
        store with ``apply``."""
        from aidflow.roles import apply_roles, role_statements

        store = parse_url(resolve_url(url))
        if store.backend != "postgresql":
            raise InvalidInput(
                said("database roles exist only on PostgreSQL; a SQLite file is one person's")
            )
        return apply_roles(store.url) if apply else role_statements(store)
