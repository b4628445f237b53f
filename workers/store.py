"""The last stage: write the anonymized report and count it in its group, in one transaction.

Exactly-once counting rests on the report's id being stored once: the insert and the counter update
commit together, so a report processed twice (a retried job, a resend) fails the insert and
its second count rolls back with it (``claim_report_ids``: the reports are stored by day, and no key
spans the days; within a day, its primary key). ``add_report`` stores one report; a worker's batch uses
``insert_reports`` then ``count_reports_in_groups`` once for all that were inserted
(``workers/batch.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crashsvc.groups.counters import (
    MAX_MERGE_HOPS,
    count_reports,
    existing_groups,
    group_for_signature,
    uncount_report,
)
from crashsvc.groups.lifecycle import regress_if_resolved
from crashsvc.models import Group, Report, ReportMissingSymbol
from crashsvc.models.partitions import insert_report_rows
from crashsvc.symbols.catalog import missing_symbol_rows
from workers.context import ProcessingContext

REPORTS = Report.__table__


class StoredReport(NamedTuple):
    """A report row just inserted, as far as counting and the regression check read it (no ORM object)."""

    id: str
    group_id: int
    received_at: datetime
    app_version: str | None
    os_name: str | None
    os_version: str | None
    device_model: str | None
    install_hash: str | None
    signature_key: tuple[int, str, str] | None = (
        None  # (app, algorithm, hash): what follow_merges re-resolves
    )


def _occurred_at(report: dict[str, Any]) -> datetime | None:
    value = report.get("timestamp")
    try:
        if isinstance(value, int | float):
            moment = datetime.fromtimestamp(value, UTC)
        elif isinstance(value, str):
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
        else:
            return None
    except (ValueError, OverflowError, OSError):
        return None
    return moment


def _text(value: Any, limit: int) -> str | None:
    return str(value)[:limit] if value not in (None, "") else None


def find_or_create_group(session: Session, ctx: ProcessingContext, exception_type: str | None) -> Group:
    """The group for the context's signature, created if new; a merged group hands over to its target."""
    algorithm = ctx.signature_algorithm
    signature_hash = ctx.signature_hash
    if not algorithm or not signature_hash:
        raise ValueError("the group stage left no signature")
    data = ctx.report
    exception = data.get("exception") if isinstance(data.get("exception"), dict) else {}
    return group_for_signature(
        session,
        ctx.app_id,
        algorithm,
        signature_hash,
        signature=ctx.signature or "",
        received_at=ctx.received_at,
        exception_type=exception_type,
        exception_value=_text(exception.get("value"), 1000),
        platform=_text(data.get("platform"), 20),
        fingerprint=ctx.fingerprint,
    )


def store_report(ctx: ProcessingContext) -> None:
    with ctx.services.db.write_sessions() as session:
        try:
            with session.begin():
                group_id = add_report(session, ctx)
        except IntegrityError:
            if session.get(Report, ctx.report_id) is None:
                raise
            return  # stored by an earlier attempt: nothing to count again
    ctx.group_id = group_id


def add_report(session: Session, ctx: ProcessingContext) -> int:
    """Insert the report and count it in its group inside the caller's transaction; returns the group id.

    Raises ``IntegrityError`` when the report id is already stored.
    """
    [report] = follow_merges(session, insert_reports(session, [ctx]))
    count_reports_in_groups(session, [(report.group_id, report)])
    return report.group_id


def follow_merges(session: Session, reports: list[StoredReport]) -> list[StoredReport]:
    """Lock the reports' groups, then move each report whose group a merge or unmerge changed meanwhile.

    Why: groups are looked up without a lock, and on PostgreSQL a merge (or an unmerge) can commit
    between that look-up and the count; the report would then be counted into a merged source, where
    no list shows it (or stay in the target its source was just taken back from). Once this
    transaction holds the group rows (``FOR UPDATE``, id order, as merges and the counting lock them),
    looking the signatures up again sees what any merge or unmerge of those groups committed, and one
    that starts later waits and moves these reports itself. A group found only now is locked in
    turn and the look-up repeated. SQLite needs none of it: a store holds the write lock from its
    first read, so nothing commits in between.
    """
    if not reports or session.get_bind().dialect.name != "postgresql":
        return reports
    group_of = {report.id: report.group_id for report in reports}
    locked: set[int] = set()
    for _ in range(MAX_MERGE_HOPS):
        unlocked = set(group_of.values()) - locked
        if not unlocked:
            break
        session.execute(select(Group.id).where(Group.id.in_(unlocked)).order_by(Group.id).with_for_update())
        locked |= unlocked
        current = existing_group_ids(
            session, {report.signature_key for report in reports if report.signature_key}
        )
        group_of = {report.id: current.get(report.signature_key, group_of[report.id]) for report in reports}
    moved = []
    for report in reports:
        if group_of[report.id] != report.group_id:
            session.execute(
                update(REPORTS).where(REPORTS.c.id == report.id).values(group_id=group_of[report.id])
            )
            report = report._replace(group_id=group_of[report.id])
        moved.append(report)
    return moved


def existing_group_ids(
    session: Session, keys: Iterable[tuple[int, str, str]]
) -> dict[tuple[int, str, str], int]:
    """The groups that exist for these (app, algorithm, signature hash) keys, merges followed; one
    query per app and algorithm. Keys without an algorithm or a hash are left out."""
    scopes: dict[tuple[int, str], set[str]] = {}
    for app_id, algorithm, signature_hash in keys:
        if algorithm and signature_hash:
            scopes.setdefault((app_id, algorithm), set()).add(signature_hash)
    found = {}
    for (app_id, algorithm), hashes in sorted(scopes.items()):
        for signature_hash, group_id in existing_groups(session, app_id, algorithm, sorted(hashes)).items():
            found[(app_id, algorithm, signature_hash)] = group_id
    return found


_CLAIM_IDS = text(
    "SELECT count(pg_advisory_xact_lock(hashtextextended(id, 0))) "
    "FROM (SELECT id FROM unnest(CAST(:ids AS text[])) AS id ORDER BY id) AS ids"
)


def claim_report_ids(session: Session, report_ids: list[str]) -> None:
    """Raise ``IntegrityError`` if one of these ids is stored already, as a primary key on the id would.

    Why: the reports are stored by day (crashsvc/models/partitions.py), and no key spans the days:
    PostgreSQL's is ``(id, received_at)``, each SQLite day has its own. A resend accepted again
    after ``IDEMPOTENCY_TTL`` (a new ``received_at``) would otherwise be stored twice. On PostgreSQL
    each id is locked (advisory, until commit) before it is looked for, so two workers storing the
    same id cannot both miss the other; a SQLite store holds the write lock from its first statement.
    """
    if not report_ids:
        return
    if session.get_bind().dialect.name == "postgresql":
        # One round trip for the batch's locks, taken in id order (as every worker takes them: two
        # batches holding the same ids cannot deadlock).
        session.execute(_CLAIM_IDS, {"ids": sorted(report_ids)})
    stored = session.scalars(select(REPORTS.c.id).where(REPORTS.c.id.in_(report_ids))).all()
    if stored:
        raise IntegrityError(
            "INSERT INTO reports", {"already stored": sorted(stored)}, Exception("duplicate report id")
        )


def insert_reports(
    session: Session, contexts: list[ProcessingContext], groups: dict[tuple[int, str, str], int] | None = None
) -> list[StoredReport]:
    """Insert the reports' rows (and what symbols they miss), each joining its group; counts nothing.

    ``groups`` memoises the ids of the groups found or created, by (app, algorithm, signature
    hash): a batch resolves each signature once. Raises ``IntegrityError`` when a report id is already stored;
    the caller's savepoint then rolls back every row (and group) this call added.
    """
    groups = {} if groups is None else groups
    find_or_create_groups(session, contexts, groups)
    rows, missing = [], []
    for ctx in contexts:
        values = report_values(ctx, groups[_group_key(ctx)])
        rows.append(values)
        missing += missing_symbol_rows(ctx.report_id, ctx.app_id, values["received_at"], ctx.missing_symbols)
    # Only a client's report id makes the server id repeat (crashsvc.queue.report_id_for: without
    # one its tail is random); the anonymizer keeps that id, so the check is left to those reports.
    claim_report_ids(session, [ctx.report_id for ctx in contexts if ctx.report.get("report_id")])
    insert_report_rows(session, rows)  # a day's primary key decides "already stored" before any count
    if missing:
        session.execute(insert(ReportMissingSymbol), missing)
    return [
        StoredReport(
            values["id"],
            values["group_id"],
            values["received_at"],
            values["app_version"],
            values["os_name"],
            values["os_version"],
            values["device_model"],
            values["install_hash"],
            _group_key(ctx),
        )
        for values, ctx in zip(rows, contexts, strict=True)
    ]


def find_or_create_groups(
    session: Session, contexts: list[ProcessingContext], groups: dict[tuple[int, str, str], int]
) -> None:
    """Add the group id of every context's signature to ``groups``: one query per app and algorithm
    for those that exist, then ``find_or_create_group`` (race-safe) for each new signature."""
    wanted: dict[tuple[int, str, str], ProcessingContext] = {}
    for ctx in contexts:
        wanted.setdefault(_group_key(ctx), ctx)
    groups.update(existing_group_ids(session, wanted.keys() - groups.keys()))
    for key, ctx in wanted.items():
        if key not in groups:
            exception = ctx.report.get("exception") or {}
            groups[key] = find_or_create_group(session, ctx, _text(exception.get("type"), 500)).id


def _group_key(ctx: ProcessingContext) -> tuple[int, str, str]:
    return ctx.app_id, ctx.signature_algorithm or "", ctx.signature_hash or ""


def report_values(ctx: ProcessingContext, group_id: int) -> dict[str, Any]:
    """The ``reports`` row of a processed context (every column but the defaults)."""
    data = ctx.report
    app = data.get("app") or {}
    os_info = data.get("os") or {}
    device = data.get("device") or {}
    exception = data.get("exception") or {}
    return dict(
        id=ctx.report_id,
        app_id=ctx.app_id,
        group_id=group_id,
        received_at=ctx.received_at,
        occurred_at=_occurred_at(data),
        platform=data.get("platform") or "other",
        app_version=_text(app.get("version"), 100),
        app_build=_text(app.get("build"), 100),
        os_name=_text(os_info.get("name"), 100),
        os_version=_text(os_info.get("version"), 100),
        device_model=_text(device.get("model"), 200),
        exception_type=_text(exception.get("type"), 500),
        exception_value=_text(exception.get("value"), 10000),
        install_hash=ctx.install_hash,
        signature=ctx.signature,
        signature_hash=ctx.signature_hash,
        signature_algorithm=ctx.signature_algorithm,
        scrub_version=ctx.scrub_version,
        symbolicated=not ctx.missing_symbols,
        data=data,
        notes=[note.as_dict() for note in ctx.notes],
        missing_symbols=ctx.missing_symbols,
        signature_explanation=ctx.signature_explanation,
        consent=data.get("consent"),
    )


def count_report_in_group(session: Session, group: Group, report: Report) -> None:
    """Add a stored report to its group's aggregates, and regress the group if it was resolved.

    Atomic statements only (``crashsvc.groups.counters``): safe with many workers on one group.
    """
    count_reports_in_groups(session, [(group.id, report)])


def count_reports_in_groups(session: Session, reports: list[tuple[int, Report | StoredReport]]) -> None:
    """Add stored reports, as (group id, report) pairs, to their groups' aggregates; regress resolved groups.

    A group regresses once, for the earliest report (by ``received_at``) that regresses it.
    """
    counted = count_reports(session, reports)
    regressed: set[int] = set()
    for group_id, report in sorted(reports, key=lambda pair: pair[1].received_at):
        if group_id not in regressed and regress_if_resolved(session, group_id, counted[group_id], report):
            regressed.add(group_id)


def uncount_report_from_group(session: Session, group_id: int, report: Report) -> None:
    """Remove a report from its group's aggregates (purge, deletion, regrouping)."""
    uncount_report(session, group_id, report)
