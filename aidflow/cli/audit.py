"""``aidflow audit``: the journal, the money ledger, the rule checks and the chain digest."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from aidflow.cli import params
from aidflow.cli.failures import (
    DIGEST_MISMATCH,
    RULE_VIOLATIONS,
    VIEWS_DRIFTED,
    writable,
    written_after,
)
from aidflow.cli.helptext import HelpGroup
from aidflow.cli.session import (
    Session,
    emit,
    emit_rows,
    export_option,
    global_options,
    output_file,
    pass_session,
    writes,
)
from aidflow.i18n import event, tr, value
from aidflow.i18n import messages as M
from aidflow.render import Money, ledger_text, line, table, when, yuan

if TYPE_CHECKING:
    from aidflow.office.results import WhatIf
    from aidflow.projections.models import Ledger
    from aidflow.proofs.bundle import BundleCheck
    from aidflow.proofs.models import HeadsDigest, TreeHead

AS_OF_HELP = "What the ledger said then (office time; a date means the end of that day)."


@click.group(cls=HelpGroup)
@global_options
def audit() -> None:
    """The auditor's views: journal, money ledger, rule checks, tamper-evident digest."""


@audit.command("journal")
@click.option("--case", "case_ref", metavar="CASE", help="Only this case's (or fund's) events.")
@click.option(
    "--since", type=params.SINCE, help="From this day (its start) or moment, office time."
)
@click.option("--limit", type=params.COUNT)
@export_option
@global_options
@pass_session
def audit_journal(
    session: Session,
    case_ref: str | None,
    since: datetime | None,
    limit: int | None,
    output: Path | None,
) -> None:
    """Every event: position, time, actor, case or fund, type and a one-line summary."""
    office = session.office
    aggregate = office.case_or_fund_id(case_ref) if case_ref else None
    lines = office.journal(aggregate_id=aggregate, since=since, limit=limit)
    emit_rows(
        session,
        lines,
        lambda: "\n".join(
            [
                line(
                    M.JOURNAL_HEADER,
                    pos=tr(M.JOURNAL_POS),
                    when=tr(M.JOURNAL_WHEN),
                    actor=tr(M.JOURNAL_ACTOR),
                    id=tr(M.JOURNAL_ID),
                    summary=tr(M.JOURNAL_SUMMARY),
                )
            ]
            + [
                line(
                    M.JOURNAL_LINE,
                    x=x,
                    when=when(x.recorded_at),
                    short=x.aggregate_id[:8],
                )
                for x in lines
            ]
        ),
        output,
        M.JOURNAL_COLUMNS,
        lambda: [
            (
                x.position,
                when(x.recorded_at, seconds=True),
                x.actor,
                x.aggregate_id,
                event(x.event_type),
                x.summary,
            )
            for x in lines
        ],
    )


def _entry_rows(ledger: Ledger) -> list[tuple[Any, ...]]:
    return [
        (
            e.position,
            e.recorded_at.date(),
            value(e.entry),
            Money(e.amount_fen),
            (e.case_id or "")[:8],
            (e.fund_id or "")[:8],
            e.voucher or e.receipt or "",
        )
        for e in ledger.entries
    ]


@audit.command("ledger")
@click.option("--as-of", "as_of", type=params.MOMENT, help=AS_OF_HELP)
@click.option("--entries", is_flag=True, help="Include every money movement, not only the totals.")
@export_option
@global_options
@pass_session
def audit_ledger(
    session: Session, as_of: datetime | None, entries: bool, output: Path | None
) -> None:
    """The money ledger: totals by fund, fund kind, need, family category and town.

    With ``-o FILE`` it writes every money movement (the ``--entries`` lines) to FILE.
    """
    ledger = session.office.ledger(as_of=as_of, entries=entries or bool(output))
    emit_rows(
        session,
        ledger,
        lambda: (
            ledger_text(ledger)
            + ("\n\n" + table(_entry_rows(ledger), M.ENTRIES_HEADER) if entries else "")
        ),
        output,
        M.ENTRIES_HEADER,
        lambda: _entry_rows(ledger),
    )


@audit.command("check")
@click.option(
    "--as-of",
    "as_of",
    type=params.MOMENT,
    help="Check history as it stood then, with timeliness judged at that moment.",
)
@global_options
@pass_session
def audit_check(session: Session, as_of: datetime | None) -> None:
    """Check every rule from history alone; exit status 1 when any is violated.

    It says how many events of each kind it read and up to which position: a check
    never reports "all rules hold" over events it did not read.
    """
    result = session.office.check(as_of=as_of).shown()  # the findings in the reader's language
    agreement, violations = result.audit_view, result.violations
    emit(
        session,
        result,
        lambda: "\n".join(
            [
                *(
                    line(
                        M.VIOLATION,
                        v=v,
                        case=v.case_id or "-",
                        positions=", ".join(map(str, v.positions)) or "-",
                    )
                    for v in violations
                ),
                *(
                    [line(M.DISPOSED_HEADING, count=len(result.disposed))]
                    if result.disposed
                    else []
                ),
                *(
                    line(M.DISPOSED, v=d.violation, by=d.by, reason=d.reason)
                    for d in result.disposed
                ),
                line(
                    M.RULES_CHECKED if violations else M.RULES_HOLD,
                    events=result.events,
                    position=result.position,
                ),
                line(M.AUDIT_VIEW_AGREES, position=agreement.position)
                if agreement.ok
                else agreement.message,
            ]
        ),
    )
    if not agreement.ok:
        session.fail(VIEWS_DRIFTED, agreement.message)
    if violations:
        session.fail(RULE_VIOLATIONS, line(M.VIOLATIONS_FOUND, count=len(violations)))


@audit.command("dispose")
@click.argument("finding")
@click.option(
    "--reason", default="", help="Why the finding needs no further act (required to explain)."
)
@click.option(
    "--withdraw", is_flag=True, help="Take an explanation back: the finding is open again."
)
@global_options
@pass_session
@writes
def audit_dispose(session: Session, finding: str, reason: str, withdraw: bool) -> None:
    """Explain a finding of `aidflow audit check` by its id (F-…), or withdraw an explanation.

    Someone other than the people whose acts raised it explains it (an approver or a
    cashier); it is then listed apart and no longer fails the check. A new act that
    raises the same rule again is a new finding.
    """
    from aidflow import commands as cmd

    result = session.office.handle(
        cmd.DisposeFinding(finding=finding, reason=reason, withdraw=withdraw, actor=session.actor())
    )
    template = M.FINDING_DISPOSED if result.disposed else M.FINDING_REOPENED
    emit(session, result, line(template, finding=result.finding, rule=result.rule))


@audit.command("report")
@click.option("--as-of", "as_of", type=params.MOMENT)
@click.option("--format", "fmt", type=params.REPORT_FORMAT, default="text", show_default=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to a file instead of standard output.",
)
@global_options
@pass_session
def audit_report(session: Session, as_of: datetime | None, fmt: str, output: Path | None) -> None:
    """A report for the file: ledger, rule checks and the chain digest, as of a moment."""
    text = session.office.report(as_of=as_of, fmt="json" if session.json else fmt)
    if output is None:
        click.echo(text)
    else:
        from aidflow.sheets import write_file

        write_file(output, text)
        click.echo(line(M.WROTE, path=output), err=True)


@audit.command("digest")
@global_options
@pass_session
def audit_digest(session: Session) -> None:
    """The Merkle tree's head, tree:SIZE:ROOT. Publish it; prove and verify against it later.

    The chain head of v0.1 (POSITION:HASH) is shown beside it and still verifies.
    """
    digest = session.office.digest()
    emit(
        session,
        digest,
        line(
            M.TREE_DIGEST,
            digest=digest.digest,
            size=digest.size,
            position=digest.position,
            chain=digest.chain,
            heads=digest.heads,
        ),
    )


@audit.command("verify")
@click.argument("digest_text", metavar="DIGEST")
@global_options
@pass_session
def audit_verify(session: Session, digest_text: str) -> None:
    """Recompute the record from the store; exit status 1 when it no longer matches DIGEST.

    DIGEST is a tree digest (tree:SIZE:ROOT) or a v0.1 chain digest (POSITION:HASH).
    Every stored snapshot is also checked against a replay of its events.
    """
    result = session.office.verify(digest_text)
    parts = [
        (what, part.ok, part.message)
        for what, part in (
            ("tree", result.tree),
            ("chain", result.chain),
            ("snapshots", result.snapshots),
        )
        if part is not None
    ]
    emit(
        session,
        result,
        "\n".join(line(M.VERIFY_PART, what=what, message=message) for what, _, message in parts),
    )
    if not result.ok:
        session.fail(DIGEST_MISMATCH, "; ".join(m for _, good, m in parts if not good))


# -- issue 14: tree digests, proofs, signed bundles, what-if ---------------------------------


def _tree_digest(value: str) -> TreeHead:
    from aidflow.proofs.models import TreeHead

    try:
        return TreeHead.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@audit.command("prove")
@click.argument("position", required=False, type=params.COUNT)
@click.option(
    "--digest",
    "digest_text",
    required=True,
    metavar="DIGEST",
    help="The tree digest (tree:SIZE:ROOT) to prove against.",
)
@click.option(
    "--from",
    "old_text",
    metavar="OLD_DIGEST",
    help="An older tree digest: make a consistency proof from it to --digest.",
)
@output_file()
@global_options
@pass_session
def audit_prove(
    session: Session, position: int | None, digest_text: str, old_text: str | None, output: Path
) -> None:
    """Prove that one event is in the record (POSITION), or that the record only grew (--from).

    The proof file is checked with `aidflow audit check-proof` or scripts/verify_proof.py,
    from the digest alone, without the store.
    """
    _tree_digest(digest_text)
    if old_text is not None:
        _tree_digest(old_text)
    elif position is None:
        raise click.UsageError(M.PROOF_NEEDS)
    made = session.office.prove(digest_text, position=position, since=old_text)
    from aidflow.sheets import write_file

    write_file(output, json.dumps(made.document, indent=1, ensure_ascii=False) + "\n")
    emit(
        session,
        {"kind": made.kind, "path": str(output), "hashes": made.hashes},
        line(M.PROOF_WROTE, kind=made.kind, hashes=made.hashes, path=output),
    )


@audit.command("check-proof")
@click.argument("proof_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--digest",
    "digest_text",
    required=True,
    metavar="DIGEST",
    help="The tree digest you trust (published earlier).",
)
@click.option(
    "--from",
    "old_text",
    metavar="OLD_DIGEST",
    help="For a consistency proof: the older digest you trust.",
)
@click.option(
    "--ref",
    metavar="REF",
    help="A public notice's row (P1234): its proof, from the notice's .proofs.json.",
)
@global_options
@pass_session
def audit_check_proof(
    session: Session, proof_file: Path, digest_text: str, old_text: str | None, ref: str | None
) -> None:
    """Check a proof file against a digest; opens no store. Exit status 1 when it fails."""
    import json

    from aidflow.proofs import proof as P

    head = _tree_digest(digest_text)
    old = _tree_digest(old_text) if old_text else None
    text = proof_file.read_text(encoding="utf-8")
    if ref is not None:  # one row of a public notice
        found = json.loads(text).get("proofs", {}).get(ref.strip().upper())
        if found is None:
            raise click.UsageError(line(M.NOTICE_NO_REF, ref=ref, file=proof_file))
        text = json.dumps(found)
    result = P.check_proof(P.load(text), head, old)
    emit(session, result, line(M.ID, id=result.message))
    if not result.ok:
        session.fail(DIGEST_MISMATCH, result.message)


@audit.command("check-notice")
@click.argument("notice_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--digest",
    "digest_text",
    required=True,
    metavar="DIGEST",
    help="The tree digest the notice names, as published.",
)
@click.option(
    "--proofs",
    "proofs_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The notice's proofs (default: NOTICE_FILE.proofs.json beside it).",
)
@global_options
@pass_session
def audit_check_notice(
    session: Session, notice_file: Path, digest_text: str, proofs_file: Path | None
) -> None:
    """Check a posted public notice (公示) against a digest; opens no store. Every row must
    recompute from its proved payments, the totals from the rows, and every proved row be on
    the notice. Exit status 1 when one does not."""
    import json

    from aidflow.proofs import notice as N

    head = _tree_digest(digest_text)
    proofs_file = proofs_file or notice_file.with_name(notice_file.name + ".proofs.json")
    if not proofs_file.exists():
        raise click.UsageError(line(M.NOTICE_NO_PROOFS, file=proofs_file))
    rows, totals = N.read_posted(notice_file)
    result = N.check_notice(rows, totals, json.loads(proofs_file.read_text("utf-8")), head)
    emit(
        session,
        result,
        line(M.NOTICE_CHECKED, rows=result.rows, digest=result.digest)
        if result.ok
        else line(M.NOTICE_BAD, problems="; ".join(result.problems)),
    )
    if not result.ok:
        session.fail(DIGEST_MISMATCH, "; ".join(result.problems))


KEYS_DIR = click.option(
    "--keys",
    "keys_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The key directory (default: $AIDFLOW_KEYS, else aidflow-keys beside the database).",
)
"""The office's signing-key directory, for the commands that write signed bundles."""


@audit.command("witness")
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The witness's own Ed25519 private key (PEM): the finance or audit bureau's, not the office's.",
)
@click.option("--witness", "witness_name", required=True, help="Who witnesses (the bureau's name).")
@output_file("Where to write the signed statement (JSON), for the witness to keep.")
@global_options
@pass_session
@writes
def audit_witness(session: Session, key_file: Path, witness_name: str, output: Path) -> None:
    """A second party co-signs the store's tree digest: the statement proves the digest extends
    the one witnessed before (RFC 9162), and its hash is recorded in the store."""
    import json

    from aidflow.sheets import write_file

    writable(output)
    statement = session.office.witness(key_file, witness=witness_name, actor=session.actor())
    with written_after():
        write_file(output, json.dumps(statement, indent=2, ensure_ascii=False) + "\n")
    emit(
        session,
        statement,
        line(M.WITNESSED, witness=witness_name, digest=statement["digest"], file=output),
    )


@audit.command("check-witness")
@click.argument(
    "statements",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option(
    "--trust",
    "trusted",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A witness's public key (PEM) to accept; repeatable (any key that signed, if none).",
)
@global_options
@pass_session
def audit_check_witness(
    session: Session, statements: tuple[Path, ...], trusted: tuple[Path, ...]
) -> None:
    """Check witness statements offline (opens no store): each signature, and each later
    digest extending the earlier by its consistency proof. Exit status 1 when one fails."""
    import json

    from aidflow.proofs import keys
    from aidflow.proofs.witness import check_statements

    loaded = []
    for path in statements:
        try:
            loaded.append(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, UnicodeDecodeError):
            loaded.append({"digest": str(path)})  # reported as malformed, not a crash
    allowed = {keys.fingerprint(keys.load_public(p)) for p in trusted} if trusted else None
    results = check_statements(loaded, allowed)
    data = [{"digest": d, "ok": why is None, "problem": why} for d, why in results]
    emit(
        session,
        data,
        "\n".join(
            line(M.WITNESS_OK, digest=d) if why is None else line(M.WITNESS_BAD, digest=d, why=why)
            for d, why in results
        ),
    )
    if any(why is not None for _d, why in results):
        session.fail(DIGEST_MISMATCH, next(why for _d, why in results if why is not None))


@audit.command("notice")
@click.option(
    "--period",
    required=True,
    metavar="FROM..TO",
    help="Payments recorded in it (the office's days).",
)
@output_file("The notice to post: .xlsx or .csv; its rows' proofs go beside it (.proofs.json).")
@global_options
@pass_session
@writes
def audit_notice(session: Session, period: str, output: Path) -> None:
    """The public notice (公示) of a period: masked name and ID, town, category, grant and
    secondary aid paid, totals, the digest, and per row a reference a student checks offline
    (`audit check-proof NOTICE.proofs.json --ref REF --digest DIGEST`). Drawing it is recorded."""
    import json

    from aidflow.render import Money
    from aidflow.sheets import check_path, write_file, write_table

    check_path(output)
    proofs = writable(output.with_name(output.name + ".proofs.json"))
    writable(output)
    notice = session.office.notice(period, actor=session.actor())
    rows = [
        (r.ref, r.name, r.student_id_masked, r.town, value(r.family_category),
         Money(r.grant_fen), Money(r.secondary_aid_fen))
        for r in notice.rows
    ]  # fmt: skip
    caption = line(M.NOTICE_CAPTION, period=period, digest=notice.digest)
    document = {
        "digest": notice.digest,
        "period": period,
        "proofs": notice.proofs,
        "events": notice.events,
    }
    with written_after():
        write_table(output, M.NOTICE_HEADER, rows, totals=True, caption=caption)
        write_file(proofs, json.dumps(document, indent=1) + "\n")
    total = notice.grant_fen + notice.secondary_aid_fen
    emit(
        session,
        notice.model_dump(mode="json", exclude={"proofs", "events"}),
        line(
            M.NOTICE_WROTE, period=period, rows=len(rows), total=yuan(total),
            digest=notice.digest, path=output, proofs=proofs,
        ),
    )  # fmt: skip


@audit.command("sample")
@click.option(
    "--digest", "digest_text", required=True, metavar="DIGEST", help="The published tree digest."
)
@click.option(
    "--size", type=click.IntRange(1, 10_000), required=True, help="How many cases to draw."
)
@KEYS_DIR
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(file_okay=False, path_type=Path),
    help="A folder for the drawn cases' complete bundles (one .zip each) and sample.json.",
)
@global_options
@pass_session
def audit_sample(
    session: Session, digest_text: str, size: int, keys_dir: Path | None, output: Path | None
) -> None:
    """Draw SIZE cases by a seed derived from DIGEST alone (aidflow-sample/1, docs/auditing.md):
    the same digest draws the same cases in any installation; with -o, their bundles."""
    import json

    from aidflow.proofs.sample import ALGORITHM

    _tree_digest(digest_text)
    office = session.office
    drawn = office.sample(digest_text, size)
    data = {"algorithm": ALGORITHM, "digest": digest_text.strip(), "cases": [str(c) for c in drawn]}
    if output is not None:  # every bundle made before the folder: a refusal leaves none
        from aidflow.sheets import write_file

        bundles = {case_id: office.export(case_id=case_id, keys_dir=keys_dir) for case_id in drawn}
        output.mkdir(parents=True, exist_ok=True)
        for case_id, made in bundles.items():
            write_file(output / f"case-{case_id}.zip", made.data)
        write_file(output / "sample.json", json.dumps(data, indent=1) + "\n")
    emit(
        session,
        data,
        "\n".join([line(M.SAMPLE_DRAWN, count=len(drawn), digest=data["digest"]), *data["cases"]]),
    )


@audit.command("export")
@click.option("--case", "case_ref", metavar="CASE", help="Every event of one case.")
@click.option(
    "--period", metavar="FROM..TO", help="Every event recorded in a period (the office's days)."
)
@KEYS_DIR
@output_file()
@global_options
@pass_session
def audit_export(
    session: Session, case_ref: str | None, period: str | None, keys_dir: Path | None, output: Path
) -> None:
    """A signed bundle: the masked events, their figures, their proofs against today's digest.

    It proves itself complete: a case bundle holds every version of the case, the last one
    its head in the heads digest printed (publish it beside the tree digest); a period
    bundle holds every event from the period's first to its last, those either side
    recorded outside it, and each record's version before the period.
    """
    if (case_ref is None) == (period is None):
        raise click.UsageError(M.BUNDLE_SCOPE)
    office = session.office
    case_id = office.case_id(case_ref) if case_ref is not None else None
    made = office.export(case_id=case_id, period=period, keys_dir=keys_dir)
    from aidflow.sheets import write_file

    write_file(output, made.data)
    text = line(M.BUNDLE_WROTE, events=made.events, path=output, digest=made.digest.digest)
    if made.heads is not None:
        text += "\n" + line(M.BUNDLE_HEADS, heads=made.heads)
    emit(
        session,
        {
            "path": str(output),
            "events": made.events,
            "digest": made.digest.digest,
            "heads": made.heads,
        },
        text,
    )


@audit.command("verify-bundle")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--public-key",
    "public_key",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option(
    "--digest",
    "digest_text",
    metavar="DIGEST",
    help="A tree digest you trust: the bundle must be proved against it.",
)
@click.option(
    "--heads",
    "heads_text",
    metavar="HEADS",
    help="A heads digest you trust (heads:SIZE:COUNT:ROOT, published beside the tree digest): "
    "a case bundle's last version must be the case's head in it.",
)
@global_options
@pass_session
def audit_verify_bundle(
    session: Session,
    bundle: Path,
    public_key: Path,
    digest_text: str | None,
    heads_text: str | None,
) -> None:
    """Is a bundle intact, do its figures follow from its events, and is it complete? Opens no
    store. Exit status 1 when it is not intact or something of its case or period is missing.

    Complete: a case bundle holds versions 1..n of the case, n its head in the heads digest;
    a period bundle every event from the period's first to its last (those either side
    recorded outside it), each record's versions going on from its version before the period.
    Its context (the staff registry, the policy, the findings register, the payment book,
    the programme years, the funds its cases name) is whole too, and the findings about its
    subject are printed as `aidflow audit check` gives them.
    """
    from aidflow.proofs import bundle as B
    from aidflow.proofs.keys import load_public

    head = _tree_digest(digest_text) if digest_text else None
    heads = _heads_digest(heads_text) if heads_text else None
    result = B.verify_bundle(bundle, load_public(public_key), head, heads)
    emit(session, result, lambda: _bundle_text(result))
    if not result.ok:
        session.fail(DIGEST_MISMATCH, "; ".join([*result.problems, *result.missing]))


def _heads_digest(value: str) -> HeadsDigest:
    from aidflow.proofs.models import HeadsDigest

    try:
        return HeadsDigest.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _bundle_text(result: BundleCheck) -> str:
    """The verdict: intact and figures following (or the problems), then complete (what it
    holds), incomplete (what is missing) or not told (format 1)."""
    lines = [
        line(M.BUNDLE_OK, events=result.events, digest=result.digest)
        if result.intact and result.figures_follow and not result.problems
        else line(M.BUNDLE_BAD, problems="; ".join(result.problems))
    ]
    if result.complete is None:
        lines.append(line(M.BUNDLE_COMPLETENESS_UNKNOWN, format_name=result.format))
    elif result.complete:
        lines.append(line(M.BUNDLE_COMPLETE, covered="; ".join(result.covered)))
        if result.heads is not None and not result.heads_checked:
            lines.append(line(M.BUNDLE_HEADS_UNCHECKED, heads=result.heads))
    else:
        lines.append(line(M.BUNDLE_INCOMPLETE, missing="; ".join(result.missing)))
    return "\n".join([*lines, *_bundle_findings(result)])


def _bundle_findings(result: BundleCheck) -> list[str]:
    """A format 3 bundle's findings about its subject, as ``audit check`` shows findings."""
    if result.judged_at is None:  # an older format: its checks saw only its own events
        return [line(M.BUNDLE_NO_CONTEXT, format_name=result.format)]
    # no store, so no office clock: the moment with its offset, unambiguous anywhere
    at = datetime.fromisoformat(result.judged_at).isoformat(sep=" ", timespec="minutes")
    return [
        line(M.BUNDLE_FINDINGS, at=at, open=len(result.findings), disposed=len(result.disposed)),
        *(
            line(
                M.VIOLATION,
                v=v.shown(),
                case=v.case_id or "-",
                positions=", ".join(map(str, v.positions)) or "-",
            )
            for v in result.findings
        ),
        *(
            line(M.DISPOSED, v=d.violation.shown(), by=d.by, reason=d.reason)
            for d in result.disposed
        ),
        line(M.BUNDLE_NOT_JUDGED, rules=", ".join(result.not_judged)),
    ]


@audit.command("what-if")
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help='A JSON file of settings, e.g. {"cap": "6000"}.',
)
@click.option("--cap", metavar="YUAN", help="The cap per case and programme year, in yuan.")
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="Any `policy set` setting, e.g. max-unpaid-days=20.",
)
@click.option("--year", type=int, help="The programme year (default: every year).")
@global_options
@pass_session
def audit_what_if(
    session: Session,
    policy_path: Path | None,
    cap: str | None,
    settings: tuple[str, ...],
    year: int | None,
) -> None:
    """Decide every recorded approval again under another policy, in memory; writes nothing."""
    from aidflow.office.whatif import policy_file

    changes = policy_file(policy_path) if policy_path else {}
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--set")
        changes[key.strip()] = value.strip()
    if cap is not None:
        changes["cap"] = cap
    if not changes:
        raise click.UsageError(M.WHATIF_NEEDS)
    result = session.office.what_if(changes, year=year)
    emit(session, result, lambda: _what_if_text(result))


def _what_if_text(result: WhatIf) -> str:
    out = [
        line(
            template,
            case=str(d.case_id)[:8],
            version=d.version,
            ref=d.ref or "-",
            amount=yuan(d.amount_fen),
            actor=d.actor,
            rule=d.now if template == M.WHATIF_REFUSED else d.then,
        )
        for template, decisions in (
            (M.WHATIF_REFUSED, result.refused),
            (M.WHATIF_ALLOWED, result.allowed),
        )
        for d in decisions
    ]
    out.append(
        line(
            M.WHATIF_TOTALS,
            approvals=result.approvals,
            refused=len(result.refused),
            allowed=len(result.allowed),
            cases=result.cases_changed,
            then=yuan(result.approved_fen_then),
            now=yuan(result.approved_fen),
        )
    )
    return "\n".join(out)
