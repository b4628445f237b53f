"""Group aggregates: the one place that writes them, exact under concurrent workers.

Every change is an atomic statement on the database, never read-modify-write in Python:
``count = count + :n`` on the group row, and ``INSERT … ON CONFLICT DO UPDATE`` upserts adding
``:n`` for per-day counts, breakdowns and installs (SQLite and PostgreSQL spell it the same way).
Two workers counting reports of the same group at once therefore never lose an update. A worker
counts a whole batch at once (``count_reports``: one upsert per table, one update for all groups).
Everything runs in the caller's transaction, so a report counts exactly when its row is stored
(the report's primary key makes a second processing fail before anything is counted).

``recompute_group`` rebuilds one group's aggregates from its reports (merge, unmerge, repair).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import (
    Date,
    Integer,
    String,
    and_,
    bindparam,
    case,
    delete,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from crashsvc.models import Group, GroupBreakdown, GroupDayCount, GroupInstall, Report
from crashsvc.models.base import UtcDateTime, utcnow
from crashsvc.models.groups import BREAKDOWN_DIMENSIONS

GROUPS = Group.__table__
DAYS = GroupDayCount.__table__
BREAKDOWNS = GroupBreakdown.__table__
INSTALLS = GroupInstall.__table__
BREAKDOWN_LIMIT = 200  # GroupBreakdown.value's length
MAX_MERGE_HOPS = 8  # a merged group's target is never itself merged; this only guards bad data


class CountedReport(Protocol):
    """What counting reads of a stored report: a ``Report`` row, or a worker's lighter ``StoredReport``."""

    @property
    def received_at(self) -> datetime: ...
    @property
    def install_hash(self) -> str | None: ...
    @property
    def app_version(self) -> str | None: ...
    @property
    def os_name(self) -> str | None: ...
    @property
    def os_version(self) -> str | None: ...
    @property
    def device_model(self) -> str | None: ...


# The counting statements as SQL text: SQLAlchemy does not cache compiled ``on_conflict_do_update``
# constructs, and compiling them on every report cost more than everything else together. A batch
# of reports counts with one multi-row upsert per aggregate table and one ``UPDATE`` for all its
# groups; rows are sorted by key so concurrent workers lock them in the same order.
#
# The rows travel as ``VALUES`` on SQLite (a statement per row count, built once and kept) and as
# one typed array per column on PostgreSQL (``unnest(CAST(:c AS integer[]), …)``): one short
# statement text whatever the row count, so psycopg converts its placeholders once (it redoes that
# on every execution of a statement over 50 parameters or 4 KiB) and the server prepares it. Each
# array goes as its text literal (``_array_literal``): psycopg adapts a list element by element,
# ≈ 10 µs per ten values, the largest client cost of a batch's count after the round trips.
_UPSERT = {  # table, key columns (with their PostgreSQL types), RETURNING
    "installs": (
        "group_installs",
        (("group_id", "integer"), ("install_hash", "varchar")),
        "RETURNING group_id, install_hash, count",
    ),
    "days": ("group_day_counts", (("group_id", "integer"), ("day", "date")), ""),
    "breakdowns": (
        "group_breakdowns",
        (("group_id", "integer"), ("dimension", "varchar"), ("value", "varchar")),
        "",
    ),
}
_CHUNK = 500  # rows per SQLite statement: far below its bound-parameter limit
_statements: dict[tuple[str, str, int], Any] = {}


def _rows_source(dialect: str, columns: tuple[tuple[str, str], ...], rows: int) -> str:
    """``SELECT`` of ``rows`` rows of ``columns`` from bound parameters: arrays on PostgreSQL, else VALUES."""
    names = ", ".join(name for name, _ in columns)
    if dialect == "postgresql":
        arrays = ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in columns)
        return f"SELECT * FROM unnest({arrays}) AS d ({names})"
    row = ", ".join(f":{name}{{n}}" for name, _ in columns)
    return "VALUES " + ", ".join("(" + row.format(n=n) + ")" for n in range(rows))


def _array_literal(kind: str, values: Sequence[Any]) -> str:
    """The PostgreSQL array literal of a column (``{1,2}``, ``{"a\\"b",NULL}``), cast by the statement.

    Strings are always quoted, with backslash and double quote escaped (what array input
    unescapes), so commas, braces, spaces or the word NULL in a value stay the value; None is NULL.
    Dates and datetimes go in ISO 8601 (an aware datetime keeps its offset).
    """
    if kind == "varchar":
        items = [
            "NULL" if value is None else '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
            for value in values
        ]
    elif kind == "integer":
        items = ["NULL" if value is None else str(int(value)) for value in values]
    else:  # date, timestamptz
        items = ["NULL" if value is None else value.isoformat() for value in values]
    return "{" + ",".join(items) + "}"


def _rows_params(
    dialect: str, columns: tuple[tuple[str, str], ...], rows: list[tuple[Any, ...]]
) -> dict[str, Any]:
    """The parameters of ``_rows_source``: one array literal per column on PostgreSQL, one value per cell else."""
    if dialect == "postgresql":
        return {
            name: _array_literal(kind, column)
            for (name, kind), column in zip(columns, zip(*rows, strict=True), strict=True)
        }
    return {
        f"{name}{n}": value
        for n, row in enumerate(rows)
        for (name, _), value in zip(columns, row, strict=True)
    }


def _pipelined(session: Session, statements: list[tuple[Any, dict[str, Any]]]) -> list[list[Any]]:
    """Run ``statements`` in order, in the session's transaction; each one's rows (empty if none).

    On PostgreSQL they go in one round trip (psycopg's pipeline mode: sent together, one sync at
    the end) instead of one each; the server still runs them one after the other, in this order,
    so the locks are taken as they would be one by one. Errors come as SQLAlchemy's (a lost
    connection invalidated), like those of ``session.execute``. Elsewhere: one by one.
    """
    session.flush()  # what session.execute would do first
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        rows = []
        for statement, params in statements:
            result = session.execute(statement, params)
            rows.append(result.all() if result.returns_rows else [])
        return rows
    from psycopg import Error
    from psycopg.rows import namedtuple_row

    driver = connection.connection.driver_connection
    cursors = []
    try:
        with driver.pipeline():
            for statement, params in statements:
                cursor = driver.cursor(row_factory=namedtuple_row)
                cursor.execute(_driver_sql(connection.dialect, statement), params)
                cursors.append(cursor)
        return [cursor.fetchall() if cursor.description else [] for cursor in cursors]
    except Error as error:
        disconnected = connection.dialect.is_disconnect(error, driver, None)
        if disconnected:
            connection.invalidate(error)
        sql = "; ".join(str(statement) for statement, _ in statements)
        raise DBAPIError.instance(
            sql,
            None,
            error,
            Error,
            hide_parameters=True,
            connection_invalidated=disconnected,
            dialect=connection.dialect,
        ) from error
    finally:
        for cursor in cursors:
            cursor.close()


_driver_sql_cache: dict[int, tuple[Any, str]] = {}


def _driver_sql(dialect: Any, statement: Any) -> str:
    """A ``text()`` statement as the driver's SQL (``%(name)s`` placeholders), compiled once."""
    cached = _driver_sql_cache.get(id(statement))
    if cached is None or cached[0] is not statement:
        cached = (statement, str(statement.compile(dialect=dialect)))
        _driver_sql_cache[id(statement)] = cached
    return cached[1]


def _upsert_statement(dialect: str, kind: str, rows: int) -> Any:
    """``INSERT … (rows) ON CONFLICT DO UPDATE SET count = count + excluded.count``."""
    statement = _statements.get((dialect, kind, rows))
    if statement is None:
        table, key, returning = _UPSERT[kind]
        returning = "" if dialect == "postgresql" else returning  # there the groups update finds new installs
        columns = (*key, ("count", "integer"))
        statement = text(
            f"INSERT INTO {table} ({', '.join(name for name, _ in columns)}) {_rows_source(dialect, columns, rows)} "
            f"ON CONFLICT ({', '.join(name for name, _ in key)}) "
            f"DO UPDATE SET count = {table}.count + excluded.count {returning}"
        )
        if kind == "days" and dialect != "postgresql":
            statement = statement.bindparams(*(bindparam(f"day{n}", type_=Date()) for n in range(rows)))
        _statements[(dialect, kind, rows)] = statement
    return statement


def _upsert(session: Session, kind: str, counts: dict[tuple[Any, ...], int]) -> list[Any]:
    """Add ``counts`` (key → n) to an aggregate table; returns the RETURNING rows, if any."""
    returned: list[Any] = []
    for statement, params in _upserts(session.get_bind().dialect.name, kind, counts):
        result = session.execute(statement, params)
        if result.returns_rows:
            returned.extend(result.all())
    return returned


def _upserts(dialect: str, kind: str, counts: dict[tuple[Any, ...], int]) -> list[tuple[Any, dict[str, Any]]]:
    """The statements (with their parameters) that add ``counts`` to an aggregate table: one on PostgreSQL."""
    _, key, _ = _UPSERT[kind]
    columns = (*key, ("count", "integer"))
    items = [(*key, count) for key, count in sorted(counts.items())]
    chunk_size = max(len(items), 1) if dialect == "postgresql" else _CHUNK
    return [
        (_upsert_statement(dialect, kind, len(chunk)), _rows_params(dialect, columns, chunk))
        for chunk in (items[first : first + chunk_size] for first in range(0, len(items), chunk_size))
    ]


# All of a batch's groups count with one ``UPDATE groups … FROM`` (SQLite ≥ 3.33 and PostgreSQL;
# RETURNING already needs SQLite ≥ 3.35): one row per group with its reports' count, new
# installs, earliest and latest moments, and the versions of its earliest and latest reports that
# have one (NULL: the versions stay). Every right-hand side reads the row as it was before this
# count. PostgreSQL first locks the rows in id order (``locked``): the join order is the planner's
# choice, and concurrent workers must take the group rows in one order.
_COUNT_COLUMNS = (
    ("id", "integer"),
    ("n", "integer"),
    ("new_installs", "integer"),
    ("first_seen", "timestamptz"),
    ("last_seen", "timestamptz"),
    ("first_version_at", "timestamptz"),
    ("first_version", "varchar"),
    ("last_version_at", "timestamptz"),
    ("last_version", "varchar"),
)
_COUNT_NAMES = tuple(name for name, _ in _COUNT_COLUMNS)
_COUNT_MOMENTS = ("first_seen", "last_seen", "first_version_at", "last_version_at")
_COUNT_SET = (
    "UPDATE groups SET count = groups.count + d.n, affected_installs = groups.affected_installs + d.new_installs, "
    "first_seen = CASE WHEN groups.first_seen > d.first_seen THEN d.first_seen ELSE groups.first_seen END, "
    "last_seen = CASE WHEN groups.last_seen < d.last_seen THEN d.last_seen ELSE groups.last_seen END, "
    "first_version = CASE WHEN d.first_version IS NOT NULL AND (groups.first_seen > d.first_version_at "
    "OR groups.first_version IS NULL) THEN d.first_version ELSE groups.first_version END, "
    "last_version = CASE WHEN d.last_version IS NOT NULL AND groups.last_seen <= d.last_version_at "
    "THEN d.last_version ELSE groups.last_version END, emptied_at = NULL "
)
_COUNT_LOCK = (
    ", locked AS MATERIALIZED (SELECT groups.id FROM groups WHERE groups.id IN (SELECT d.id FROM d) "
    "ORDER BY groups.id FOR NO KEY UPDATE) "
)
_COUNT_RETURNING = "RETURNING groups.id, groups.status, groups.resolved_in_version, groups.resolved_at"
# PostgreSQL sends the installs upsert in the same pipeline as the groups update, so the update
# cannot take the new installs from the upsert's RETURNING: it finds them itself. An install is
# new to its group when its row now holds exactly this batch's count (the rule the RETURNING rows
# are read by elsewhere): this transaction has held that row locked since its upsert, so no other
# writer changed it in between, and uncounting deletes a row that reaches zero.
_INSTALL_COLUMNS = (
    ("install_group_id", "integer"),
    ("install_hash", "varchar"),
    ("install_count", "integer"),
)
_PG_COUNT_COLUMNS = tuple(column for column in _COUNT_COLUMNS if column[0] != "new_installs")
_PG_NEW_INSTALLS = (
    f"i AS ({_rows_source('postgresql', _INSTALL_COLUMNS, 0)}), "
    "fresh AS (SELECT i.install_group_id AS id, count(*) AS new_installs FROM i JOIN group_installs AS gi "
    "ON gi.group_id = i.install_group_id AND gi.install_hash = i.install_hash AND gi.count = i.install_count "
    "GROUP BY i.install_group_id), "
    f"u AS ({_rows_source('postgresql', _PG_COUNT_COLUMNS, 0)}), "
    "d AS (SELECT u.*, COALESCE(fresh.new_installs, 0) AS new_installs FROM u LEFT JOIN fresh ON fresh.id = u.id)"
)


def _count_statement(dialect: str, rows: int) -> Any:
    """``WITH d AS (rows) UPDATE groups SET … FROM d WHERE groups.id = d.id RETURNING …``."""
    statement = _statements.get((dialect, "groups", rows))
    if statement is None:
        if dialect == "postgresql":
            sql = f"WITH {_PG_NEW_INSTALLS}{_COUNT_LOCK}{_COUNT_SET}FROM d JOIN locked ON locked.id = d.id "
        else:
            source = _rows_source(dialect, _COUNT_COLUMNS, rows)
            sql = f"WITH d ({', '.join(_COUNT_NAMES)}) AS ({source}) {_COUNT_SET}FROM d "
        statement = text(f"{sql}WHERE groups.id = d.id {_COUNT_RETURNING}")
        if dialect != "postgresql":  # UtcDateTime stores naive UTC there
            statement = statement.bindparams(
                *(
                    bindparam(f"{name}{n}", type_=UtcDateTime())
                    for name in _COUNT_MOMENTS
                    for n in range(rows)
                )
            )
        statement = statement.columns(
            id=Integer(), status=String(), resolved_in_version=String(), resolved_at=UtcDateTime()
        )
        _statements[(dialect, "groups", rows)] = statement
    return statement


_FIND_GROUP = select(Group).where(
    Group.app_id == bindparam("app_id"),
    Group.algorithm == bindparam("algorithm"),
    Group.signature_hash == bindparam("signature_hash"),
)


def report_day(report: CountedReport) -> date:
    return report.received_at.date()  # UtcDateTime: always UTC


def breakdown_values(report: CountedReport) -> list[tuple[str, str]]:
    """(dimension, value) pairs a report counts under; unknown values are not counted."""
    pairs = [(dimension, getattr(report, dimension)) for dimension in BREAKDOWN_DIMENSIONS]
    return [(dimension, value[:BREAKDOWN_LIMIT]) for dimension, value in pairs if value]


def group_for_signature(
    session: Session,
    app_id: int,
    algorithm: str,
    signature_hash: str,
    *,
    signature: str,
    received_at: datetime,
    **fields: Any,
) -> Group:
    """The group for a signature, created if new (safe against a concurrent create).

    A merged group hands over to the group it was merged into, so later reports with its
    signature join the merge target.
    """
    key = {"app_id": app_id, "algorithm": algorithm, "signature_hash": signature_hash}
    group = session.scalars(_FIND_GROUP, key).first()
    if group is None:
        try:
            with session.begin_nested():
                group = Group(
                    app_id=app_id,
                    algorithm=algorithm,
                    signature_hash=signature_hash,
                    signature=signature,
                    count=0,
                    affected_installs=0,
                    first_seen=received_at,
                    last_seen=received_at,
                    **fields,
                )
                session.add(group)
        except IntegrityError:
            group = session.scalars(_FIND_GROUP, key).one()  # another worker created it first
    for _ in range(MAX_MERGE_HOPS):
        if group.merged_into_id is None:
            break
        group = session.get(Group, group.merged_into_id) or group
    return group


_EXISTING_GROUPS = {  # PostgreSQL: one statement text (prepared) whatever the number of signatures
    "postgresql": text(
        "SELECT id, signature_hash, merged_into_id FROM groups WHERE app_id = :app_id "
        "AND algorithm = :algorithm AND signature_hash = ANY(CAST(:hashes AS varchar[]))"
    ),
    "sqlite": text(
        "SELECT id, signature_hash, merged_into_id FROM groups WHERE app_id = :app_id "
        "AND algorithm = :algorithm AND signature_hash IN :hashes"
    ).bindparams(bindparam("hashes", expanding=True)),
}
_MERGE_TARGET = select(GROUPS.c.id, GROUPS.c.merged_into_id).where(GROUPS.c.id == bindparam("id"))


def existing_groups(
    session: Session, app_id: int, algorithm: str, signature_hashes: list[str]
) -> dict[str, int]:
    """The ids of the groups of an app's signatures that exist (one query); a merged group gives its target's.

    Ids only, not ``Group`` rows: a batch needs nothing else, and loading rows was most of its cost.
    """
    dialect = session.get_bind().dialect.name
    hashes = sorted(set(signature_hashes))
    params = {
        "app_id": app_id,
        "algorithm": algorithm,
        "hashes": _array_literal("varchar", hashes) if dialect == "postgresql" else hashes,
    }
    [rows] = _pipelined(session, [(_EXISTING_GROUPS[dialect], params)])  # the transaction's BEGIN rides along
    found = {}
    for group_id, signature_hash, merged_into_id in rows:
        for _ in range(MAX_MERGE_HOPS):
            target = (
                None
                if merged_into_id is None
                else session.execute(_MERGE_TARGET, {"id": merged_into_id}).first()
            )
            if target is None:
                break
            group_id, merged_into_id = target
        found[signature_hash] = group_id
    return found


def count_report(session: Session, group_id: int, report: CountedReport) -> Any:
    """Add a stored report to group ``group_id``'s aggregates; returns the group's ``status``,
    ``resolved_in_version`` and ``resolved_at`` (a row). ``count_reports`` for one report."""
    return count_reports(session, [(group_id, report)])[group_id]


def count_reports(session: Session, reports: Sequence[tuple[int, CountedReport]]) -> dict[int, Any]:
    """Add stored reports, as (group id, report) pairs, to their groups' aggregates in a few statements.

    Returns, per group, its ``status``, ``resolved_in_version`` and ``resolved_at`` as read by the
    same statement that counted (``UPDATE … RETURNING``), so the caller's regression check sees the
    status as it is now, not as it was when loaded. The same result as counting the reports one by
    one in the order of their ``received_at``.
    """
    if not reports:
        return {}
    installs: Counter[tuple[int, str]] = Counter()
    days: Counter[tuple[int, date]] = Counter()
    breakdowns: Counter[tuple[int, str, str]] = Counter()
    by_group: dict[int, list[CountedReport]] = {}
    for group_id, report in reports:
        by_group.setdefault(group_id, []).append(report)
        if report.install_hash:
            installs[(group_id, report.install_hash)] += 1
        days[(group_id, report_day(report))] += 1
        breakdowns.update((group_id, dimension, value) for dimension, value in breakdown_values(report))
    dialect = session.get_bind().dialect.name
    new_installs: Counter[int] = Counter()
    if dialect != "postgresql":  # PostgreSQL: the groups update finds them (_PG_NEW_INSTALLS)
        for row in _upsert(session, "installs", installs):
            if row.count == installs[(row.group_id, row.install_hash)]:  # the row did not exist before
                new_installs[row.group_id] += 1
    rows = []
    for group_id in sorted(by_group):  # id order: concurrent workers lock the group rows alike
        members = by_group[group_id]
        received = [report.received_at for report in members]
        versioned = [
            (report.received_at, n, report.app_version[:100])
            for n, report in enumerate(members)
            if report.app_version
        ]
        first_version = last_version = (None, None, None)
        if versioned:  # ties: the first in the batch names the first version, the last the last one
            first_version, last_version = min(versioned), max(versioned)
        rows.append(
            (
                group_id,
                len(members),
                new_installs[group_id],
                min(received),
                max(received),
                first_version[0],
                first_version[2],
                last_version[0],
                last_version[2],
            )
        )
    if dialect == "postgresql":  # one statement each, all in one round trip
        params = _rows_params(dialect, _PG_COUNT_COLUMNS, [row[:2] + row[3:] for row in rows])
        items = [(*key, n) for key, n in sorted(installs.items())]
        params.update(
            (name, _array_literal(kind, [item[k] for item in items]))
            for k, (name, kind) in enumerate(_INSTALL_COLUMNS)
        )
        statements = [
            *_upserts(dialect, "installs", installs),
            (_count_statement(dialect, len(rows)), params),
        ]
    else:
        chunk_size = _CHUNK // len(_COUNT_COLUMNS)
        statements = [
            (_count_statement(dialect, len(chunk)), _rows_params(dialect, _COUNT_COLUMNS, chunk))
            for chunk in (rows[first : first + chunk_size] for first in range(0, len(rows), chunk_size))
        ]
    counting = len(statements)
    statements += _upserts(dialect, "days", days) + _upserts(dialect, "breakdowns", breakdowns)
    # Installs, groups, days, breakdowns: the order uncount_report locks them in.
    results = _pipelined(session, statements)
    return {returned.id: returned for result in results[:counting] for returned in result}


def uncount_report(session: Session, group_id: int, report: Report) -> None:
    """Remove a report from group ``group_id``'s aggregates (purge, deletion, a move to another group).

    First and last seen stay as they were: the bug *was* seen then. Installs stay exact: an
    install leaves the group with its last report there. A group whose last report leaves is
    marked ``emptied_at`` (hidden from lists; counting a report again clears it).
    """
    gone_install = 0
    if report.install_hash:
        left = session.execute(
            update(INSTALLS)
            .where(INSTALLS.c.group_id == group_id, INSTALLS.c.install_hash == report.install_hash)
            .values(count=INSTALLS.c.count - 1)
            .returning(INSTALLS.c.count)
        ).scalar_one_or_none()
        if left is not None and left <= 0:
            session.execute(
                delete(INSTALLS).where(
                    INSTALLS.c.group_id == group_id, INSTALLS.c.install_hash == report.install_hash
                )
            )
            gone_install = 1
    session.execute(
        update(GROUPS)
        .where(GROUPS.c.id == group_id)
        .values(
            count=GROUPS.c.count - 1,
            affected_installs=GROUPS.c.affected_installs - gone_install,
            emptied_at=case(
                (GROUPS.c.count <= 1, literal(utcnow(), UtcDateTime())), else_=GROUPS.c.emptied_at
            ),
        )
    )
    session.execute(
        update(DAYS)
        .where(DAYS.c.group_id == group_id, DAYS.c.day == report_day(report))
        .values(count=DAYS.c.count - 1)
    )
    pairs = breakdown_values(report)
    if pairs:
        matches = or_(
            *(
                and_(BREAKDOWNS.c.dimension == dimension, BREAKDOWNS.c.value == value)
                for dimension, value in pairs
            )
        )
        session.execute(
            update(BREAKDOWNS)
            .where(BREAKDOWNS.c.group_id == group_id, matches)
            .values(count=BREAKDOWNS.c.count - 1)
        )


def recompute_group(session: Session, group_id: int) -> None:
    """Rebuild a group's aggregates from the reports that belong to it now (merge, unmerge, repair).

    The caller holds the group (merge and unmerge lock it): counting workers wait for the group row.
    """
    rows = session.execute(
        select(
            Report.received_at,
            Report.app_version,
            Report.os_name,
            Report.os_version,
            Report.device_model,
            Report.install_hash,
        )
        .where(Report.group_id == group_id)
        .order_by(Report.received_at)
    ).all()
    for table in (DAYS, BREAKDOWNS, INSTALLS):
        session.execute(delete(table).where(table.c.group_id == group_id))
    values: dict[str, Any] = {"count": len(rows), "affected_installs": 0, "emptied_at": None}
    if rows:
        days = Counter(row.received_at.date() for row in rows)
        breakdowns: Counter[tuple[str, str]] = Counter()
        for row in rows:
            breakdowns.update(breakdown_values(row))
        installs = Counter(row.install_hash for row in rows if row.install_hash)
        session.execute(
            DAYS.insert(), [{"group_id": group_id, "day": day, "count": n} for day, n in days.items()]
        )
        if breakdowns:
            session.execute(
                BREAKDOWNS.insert(),
                [
                    {"group_id": group_id, "dimension": d, "value": v, "count": n}
                    for (d, v), n in breakdowns.items()
                ],
            )
        if installs:
            session.execute(
                INSTALLS.insert(),
                [{"group_id": group_id, "install_hash": h, "count": n} for h, n in installs.items()],
            )
        versions = [row.app_version[:100] for row in rows if row.app_version]
        values.update(
            affected_installs=len(installs),
            first_seen=rows[0].received_at,
            last_seen=rows[-1].received_at,
            first_version=versions[0] if versions else None,
            last_version=versions[-1] if versions else None,
        )
    session.execute(update(GROUPS).where(GROUPS.c.id == group_id).values(values))
