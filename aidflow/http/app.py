"""The FastAPI application: every command as a POST, every query as a GET, the event feed.

Commands take the library's own pydantic models (:mod:`aidflow.commands`) as their JSON
body, except ``actor``: the actor is the staff member whose bearer token made the call
(a body that names someone else is refused). Reading needs a token too. Errors carry the
CLI's stable codes, ``{"error": {"code", "message", "ids"}}``, with the HTTP status of
their family: invalid input 422, not found 404, refused by a rule 409, a concurrency
conflict or an unavailable store 503, anything else 500.
"""

# No ``from __future__ import annotations``: FastAPI reads these annotations at runtime.
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, create_model

from aidflow import commands as cmd
from aidflow import feed
from aidflow.application import AidFlow
from aidflow.cli.funds import FUND_MOVEMENTS
from aidflow.cli.render import to_json
from aidflow.config import resolve_url
from aidflow.domain import canonical
from aidflow.domain.errors import (
    AidflowError,
    ConcurrencyConflict,
    InvalidInput,
    MasterKeyError,
    NotFound,
    RuleViolation,
    StoreUnavailable,
    said,
)
from aidflow.http.tokens import Tokens
from aidflow.i18n import using
from aidflow.projections import ReadModels

COMMANDS: dict[str, tuple[str, type[cmd.Command]]] = {
    "open-fund": ("open_fund", cmd.OpenFund),
    "deposit": ("deposit", cmd.Deposit),
    "apply": ("apply", cmd.Apply),
    "verify": ("verify", cmd.Verify),
    "reject": ("reject", cmd.Reject),
    "approve": ("approve", cmd.Approve),
    "disburse": ("disburse", cmd.Disburse),
    "return-disbursement": ("return_disbursement", cmd.ReturnDisbursement),
    "allocate-secondary-aid": ("allocate_secondary_aid", cmd.AllocateSecondaryAid),
    "report-hardship": ("report_hardship", cmd.ReportHardship),
    "convene-review": ("convene_review", cmd.ConveneReview),
    "complete-action": ("complete_action", cmd.CompleteAction),
    "follow-up": ("follow_up", cmd.FollowUp),
    "close-case": ("close_case", cmd.CloseCase),
    "add-staff": ("add_staff", cmd.AddStaff),
    "grant-role": ("grant_role", cmd.GrantRole),
    "revoke-role": ("revoke_role", cmd.RevokeRole),
    "set-policy": ("set_policy", cmd.SetPolicy),
    # issue 11: the reveal is recorded before the data is answered; erasure is an admin's
    "reveal": ("reveal", cmd.Reveal),
    "erase-case": ("erase", cmd.EraseCase),
    # the money loop (issue 12). The payment list is not served: it is the one export of
    # full account numbers, written by the cashier with `aidflow pay list -o FILE`.
    "set-account": ("set_account", cmd.SetAccount),
    "confirm-account": ("confirm_account", cmd.ConfirmAccount),
    "approve-secondary-aid": ("approve_secondary_aid", cmd.ApproveSecondaryAid),
    "reconcile": ("reconcile", cmd.Reconcile),
    "load-policy": ("load_policy", cmd.LoadPolicy),
}
"""POST /commands/{name}: the application method and its command model."""

UNAUTHORISED = "unauthorised"
ACTOR_MISMATCH = "actor_mismatch"
MAX_WAIT = 30.0


class Unauthorised(Exception):
    """No token, or a token that was never issued (or was replaced)."""


def status_of(exc: AidflowError) -> int:
    if isinstance(exc, InvalidInput):
        return 422
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, RuleViolation):
        return 409
    if isinstance(exc, ConcurrencyConflict | StoreUnavailable | MasterKeyError):
        return 503
    return 500


def error(status: int, code: str, message: str, ids: dict[str, str] | None = None) -> Response:
    body = {"error": {"code": code, "message": message, "ids": ids or {}}}
    return Response(to_json(body), status_code=status, media_type="application/json")


def ok(data: Any) -> Response:
    return Response(to_json(data), media_type="application/json")


class Service:
    """The store, its read models (kept current after each command) and the token table."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.flow = AidFlow.open(url)
        self.views = ReadModels.open(url)
        self.tokens = Tokens.open(url)
        self._catching_up = threading.Lock()
        self.flow.listeners.append(self.catch_up)
        self.catch_up()

    def catch_up(self) -> None:
        with self._catching_up:
            self.views.catch_up(self.flow, recorded=self.flow.recorded())

    def close(self) -> None:
        self.views.close()
        self.tokens.close()
        self.flow.close()


def _request_model(cls: type[cmd.Command]) -> type[BaseModel]:
    """The command's own model with ``actor`` optional: the token says who acts."""
    return create_model(
        f"{cls.__name__}Request",
        __base__=cls,
        __doc__=cls.__doc__,
        actor=(str | None, None),
    )


def create_app(url: str | None = None) -> FastAPI:
    """The service over the store at ``url`` (else ``$AIDFLOW_DB``, else ./aidflow.db)."""
    service = Service(resolve_url(url))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        service.close()

    app = FastAPI(
        lifespan=lifespan,
        title="aidflow",
        summary="Closed-loop aid for new university students: commands, queries, event feed.",
        version=_version(),
    )
    app.state.service = service
    bearer = HTTPBearer(auto_error=False)

    @app.exception_handler(AidflowError)
    def aidflow_error(_request: Request, exc: AidflowError) -> Response:
        return error(status_of(exc), exc.code, str(exc), exc.ids)

    @app.exception_handler(RequestValidationError)
    def invalid(_request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'input'}: "
            f"{str(e['msg']).removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        return error(422, InvalidInput.code, problems)

    @app.exception_handler(Exception)
    def internal(_request: Request, exc: Exception) -> Response:
        return error(500, "internal_error", f"{type(exc).__name__}: {exc}")

    def staff_member(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> str:
        name = None if credentials is None else service.tokens.who(credentials.credentials)
        if name is None:
            raise Unauthorised
        return name

    Actor = Annotated[str, Depends(staff_member)]

    @app.exception_handler(Unauthorised)
    def unauthorised(_request: Request, _exc: Unauthorised) -> Response:
        response = error(401, UNAUTHORISED, "give a staff bearer token (aidflow staff token NAME)")
        response.headers["WWW-Authenticate"] = "Bearer"
        return response

    # -- health ------------------------------------------------------------------------

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/ready", tags=["health"])
    def ready() -> Response:
        """The store answers; the response says its head position."""
        try:
            position = feed.head(service.flow)
        except Exception as exc:
            return error(503, StoreUnavailable.code, f"the store does not answer: {exc}")
        return ok({"status": "ready", "position": position})

    # -- commands ----------------------------------------------------------------------

    for path, (method, model) in COMMANDS.items():
        app.post(f"/commands/{path}", tags=["commands"], summary=model.__doc__)(
            _command_endpoint(service, method, model, staff_member)
        )

    # -- queries -----------------------------------------------------------------------

    @app.get("/cases", tags=["cases"])
    def cases(
        _actor: Actor,
        status: str | None = None,
        town: str | None = None,
        category: str | None = None,
        year: int | None = None,
        limit: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    ) -> Response:
        """Cases, filtered by status, town, family category (Chinese or English) or year."""
        if category is not None:
            from aidflow.imports.values import parse_family_category

            category = parse_family_category(category).value
        service.catch_up()
        return ok(
            service.views.cases(
                status=status, town=town, family_category=category, year=year, limit=limit
            )
        )

    @app.get("/cases/find", tags=["cases"])
    def find_cases(_actor: Actor, q: str) -> Response:
        """Cases by national ID (any spelling) or by a part of the name."""
        from aidflow.cli.session import enrolled

        service.catch_up()
        flow = service.flow
        return ok(
            service.views.find_cases(
                q,
                confirm=lambda sid, c: enrolled(flow, sid, c),
                confirm_name=lambda name, c: flow.is_named(c.case_id, name),
            )
        )

    @app.get("/cases/{case}", tags=["cases"])
    def dossier(_actor: Actor, case: str) -> Response:
        """The dossier (一人一档) of a case: its id or a prefix of at least 6 characters."""
        service.catch_up()
        return ok(service.views.dossier(str(service.views.resolve_case(case))))

    @app.get("/cases/{case}/history", tags=["cases"])
    def history(_actor: Actor, case: str) -> Response:
        """Every stored event of a case, personal data masked."""
        service.catch_up()
        from aidflow.projections.base import public_data

        records = service.flow.history(service.views.resolve_case(case))
        return ok(
            [
                {**r.model_dump(mode="json", exclude={"data"}), "data": public_data(r.data)}
                for r in records
            ]
        )

    @app.get("/funds", tags=["funds"])
    def funds(_actor: Actor) -> Response:
        """Every fund with its totals."""
        service.catch_up()
        return ok(service.views.ledger().funds)

    @app.get("/funds/{fund}", tags=["funds"])
    def fund(_actor: Actor, fund: str) -> Response:
        """A fund's balance and its movements (from the ledger)."""
        service.catch_up()
        fund_id = service.views.resolve_fund(fund)
        snapshot = service.flow.fund(fund_id)
        moves = [
            e
            for e in service.views.ledger(entries=True).entries
            if e.fund_id == str(fund_id) and e.entry in FUND_MOVEMENTS
        ]
        return ok({**snapshot.model_dump(mode="json"), "movements": moves})

    @app.get("/queue", tags=["cases"])
    def queue(_actor: Actor, department: str | None = None) -> Response:
        """Hardship awaiting consultation and consultation actions owed."""
        service.catch_up()
        return ok(service.views.queue(department))

    @app.get("/due", tags=["cases"])
    def due(
        _actor: Actor,
        within: Annotated[int | None, Query(ge=0, le=3660)] = None,
        department: str | None = None,
    ) -> Response:
        """Payments and consultation actions with their due dates, soonest first."""
        service.catch_up()
        if department is not None:
            department = service.flow.policy_department(department)
        items = service.views.due(
            service.flow.current_policy(), within=within, department=department
        )
        return ok(items)

    @app.get("/audit/journal", tags=["audit"])
    def journal(
        _actor: Actor,
        aggregate_id: str | None = None,
        since: datetime | None = None,
        limit: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    ) -> Response:
        """Every event's journal line (personal data masked); page with /events instead."""
        service.catch_up()
        return ok(service.views.journal(aggregate_id=aggregate_id, since=since, limit=limit))

    @app.get("/audit/ledger", tags=["audit"])
    def ledger(_actor: Actor, entries: bool = False) -> Response:
        """The money ledger: totals by fund, need, family category and town."""
        service.catch_up()
        return ok(service.views.ledger(entries=entries))

    @app.get("/audit/check", tags=["audit"])
    def check(_actor: Actor) -> Response:
        """Every rule, from the events alone."""
        service.catch_up()
        result = service.views.check_report(service.flow.current_policy(), base=service.flow.policy)
        return ok({"ok": result.ok, "events": result.events, **result.model_dump(mode="json")})

    @app.get("/audit/digest", tags=["audit"])
    def digest(_actor: Actor) -> Response:
        """The hash chain's head, POSITION:HASH."""
        service.catch_up()
        return ok({"digest": str(service.views.digest())})

    @app.get("/audit/report", tags=["audit"])
    def report(_actor: Actor, format: str = "html", lang: str | None = None) -> Response:
        """The audit report (html, text or json), in English or Chinese (lang=zh)."""
        from aidflow.report import FORMATS, render_report

        if format not in FORMATS:
            raise InvalidInput(said("format must be one of {formats}", formats=", ".join(FORMATS)))
        service.catch_up()
        with using(lang):
            text = render_report(
                service.views, service.flow.current_policy(), as_of=None, fmt=format
            )
        if format == "html":
            return HTMLResponse(text)
        if format == "json":
            return Response(text, media_type="application/json")
        return PlainTextResponse(text)

    # -- the event feed ----------------------------------------------------------------

    @app.get("/events", tags=["events"])
    def events(
        _actor: Actor,
        after: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=feed.MAX_LIMIT)] = 100,
        wait: Annotated[float, Query(ge=0, le=MAX_WAIT)] = 0,
    ) -> Response:
        """Integration events after position ``after``, in order, personal data masked.

        Resume with ``after`` = the last ``position`` you processed. ``wait`` > 0 long-polls:
        the answer comes as soon as there is an event, or empty after ``wait`` seconds.
        """
        batch = (
            feed.wait_for(service.flow, after=after, limit=limit, timeout=wait)
            if wait
            else feed.read(service.flow, after=after, limit=limit)
        )
        last = batch[-1].position if batch else after
        return ok({"events": batch, "next_after": last, "schema_version": feed.SCHEMA_VERSION})

    return app


def _command_endpoint(
    service: Service, method: str, model: type[cmd.Command], who: Callable[..., str]
) -> Callable[..., Response]:
    request_model = _request_model(model)

    def run(body: Any, actor: str) -> Response:
        given = getattr(body, "actor", None)
        if given is not None and canonical.actor(given) != actor:
            return error(
                422,
                ACTOR_MISMATCH,
                f"the actor is the token's staff member ({actor}); do not name another in the body",
            )
        fields = body.model_dump(exclude={"actor"})
        command = model(**fields, actor=actor)
        result = getattr(service.flow, method)(command)
        if isinstance(result, UUID):
            key = "fund_id" if method == "open_fund" else "case_id"
            return ok({key: result})
        return ok({"ok": True} if result is None else result)

    run.__annotations__ = {
        "body": request_model,
        "actor": Annotated[str, Depends(who)],
        "return": Response,
    }
    run.__name__ = method
    run.__doc__ = model.__doc__
    return run


def _version() -> str:
    from aidflow import __version__

    return __version__


__all__ = ["COMMANDS", "create_app", "status_of"]
