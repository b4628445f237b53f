"""Group aggregates at the store level: days, versions, installs, uncount (purge), recompute, versions order."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from crashsvc.groups import queries
from crashsvc.groups.counters import recompute_group
from crashsvc.groups.versions import is_version_after, version_key
from crashsvc.models import Group, Report
from crashsvc.models.partitions import delete_reports
from tests.groups.conftest import variant
from workers.context import ProcessingContext
from workers.grouping import group_signature
from workers.store import store_report, uncount_report_from_group

DAY = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def store(
    factory, *, at: datetime = DAY, install: str | None = "i1", report_id: str | None = None, **kw
) -> int:
    """Store one report through the store stage (signature by the real group stage); returns its group id."""
    ctx = ProcessingContext(
        report_id=report_id or str(uuid.uuid4()),
        app_id=kw.pop("app_id"),
        received_at=at,
        report=variant(factory, **kw),
        services=factory.services,
    )
    ctx.install_hash = install
    group_signature(ctx)
    store_report(ctx)
    return ctx.group_id


def snapshot(factory, group_id: int) -> dict:
    with factory.services.db.sessions() as session:
        group = session.get(Group, group_id)
        return {
            "count": group.count,
            "installs": group.affected_installs,
            "first_seen": group.first_seen,
            "last_seen": group.last_seen,
            "first_version": group.first_version,
            "last_version": group.last_version,
            "emptied": group.emptied_at is not None,
            "breakdowns": queries.group_breakdowns(session, group_id),
            "days": queries.daily_counts(session, [group_id], 3, date(2026, 11, 21))[group_id],
        }


def test_days_versions_installs_and_a_report_processed_twice(factory):
    app_id = factory.app_row().id
    store(factory, app_id=app_id, at=DAY, app_version="2.0", install="i1")
    gid = store(factory, app_id=app_id, at=DAY + timedelta(days=1), app_version="2.1", install="i2")
    store(
        factory,
        app_id=app_id,
        at=DAY - timedelta(hours=1),
        app_version="1.9",
        install="i1",
        report_id="00000000-0000-0000-0000-000000000001",
    )
    # Processed again (a retried job): the report's primary key makes it count once.
    store(
        factory,
        app_id=app_id,
        at=DAY - timedelta(hours=1),
        app_version="1.9",
        install="i1",
        report_id="00000000-0000-0000-0000-000000000001",
    )
    state = snapshot(factory, gid)
    assert (state["count"], state["installs"]) == (3, 2)
    assert (state["first_version"], state["last_version"]) == ("1.9", "2.1")
    assert state["first_seen"] == DAY - timedelta(hours=1) and state["last_seen"] == DAY + timedelta(days=1)
    assert state["days"] == [0, 2, 1]  # 19th, 20th, 21st
    assert state["breakdowns"]["app_version"] == [("1.9", 1), ("2.0", 1), ("2.1", 1)]


def test_uncount_keeps_installs_exact_and_marks_an_emptied_group(factory):
    app_id = factory.app_row().id
    gid = store(factory, app_id=app_id, install="i1", report_id="00000000-0000-0000-0000-0000000000a1")
    store(factory, app_id=app_id, install="i1", report_id="00000000-0000-0000-0000-0000000000a2")
    store(factory, app_id=app_id, install="i2", report_id="00000000-0000-0000-0000-0000000000a3")
    expected_installs = [2, 2, 1, 0]  # after purging a1 (i1 still has a2), a2, a3
    for suffix, installs in zip(("a1", "a2", "a3"), expected_installs[1:], strict=True):
        with factory.services.db.transaction() as session:
            report = session.get(Report, f"00000000-0000-0000-0000-0000000000{suffix}")
            uncount_report_from_group(session, gid, report)
            session.expunge(report)
            delete_reports(session, Report.id == report.id)
        assert snapshot(factory, gid)["installs"] == installs
    state = snapshot(factory, gid)
    assert (state["count"], state["emptied"], state["days"]) == (0, True, [0, 0, 0])
    assert state["breakdowns"]["app_version"] == []
    with factory.services.db.sessions() as session:
        assert queries.list_groups(session, app_id, queries.GroupFilter())[1] == 0
    store(factory, app_id=app_id, install="i3")
    assert snapshot(factory, gid)["emptied"] is False


def test_recompute_matches_the_counters(factory):
    app_id = factory.app_row().id
    for hours, version, install in ((0, "1.0", "i1"), (30, "1.2", "i2"), (5, "1.1", "i1"), (2, "1.0", None)):
        gid = store(
            factory, app_id=app_id, at=DAY + timedelta(hours=hours), app_version=version, install=install
        )
    counted = snapshot(factory, gid)
    with factory.services.db.transaction() as session:
        recompute_group(session, gid)
    assert snapshot(factory, gid) == counted


def test_app_overview(factory):
    app_row = factory.app_row()
    today = datetime.now(UTC)
    store(factory, app_id=app_row.id, at=today, install="i1")
    store(factory, app_id=app_row.id, at=today - timedelta(days=2), install="i2", bug="B")
    store(factory, app_id=app_row.id, at=today - timedelta(days=40), install="i3", bug="C")
    with factory.services.db.sessions() as session:
        overview = queries.app_overview(session, app_row.id, today.date())
        daily = queries.app_daily_counts(session, app_row.id, 3, today.date())
        by_type = {g.id: g.exception_type for g in session.scalars(select(Group))}
    assert (overview["reports_30d"], overview["affected_installs_30d"], len(overview["daily"])) == (2, 2, 30)
    assert [count for _day, count in daily] == [1, 0, 1]
    assert sorted(by_type[g.id] for g in overview["new_groups_7d"]) == ["EXC_BUG_B", "EXC_CRASH"]
    assert sorted(overview["top_group_counts"].values()) == [1, 1]
    assert overview["regressed_groups_7d"] == []


@pytest.mark.parametrize(
    ("version", "than", "after"),
    [
        ("2.10", "2.9", True),
        ("2.4.0", "2.4", False),
        ("2.4.1", "2.4", True),
        ("v3", "2.99.99", True),
        ("2.0", "2.0-beta", True),
        ("2.0-beta.2", "2.0-beta.10", False),
        ("1.0 (311)", "1.0", False),
        ("1.0+build.5", "1.0", False),
        ("abc", "abd", False),
        (None, "1.0", False),
        ("1.0", None, False),
    ],
)
def test_version_order(version, than, after):
    assert is_version_after(version, than) is after


def test_version_key_is_total_on_odd_input():
    ordered = sorted(["2.10", "2.9", "release", "", "2.9.1", "2.9-rc.1"], key=version_key)
    assert ordered[-4:] == ["2.9-rc.1", "2.9", "2.9.1", "2.10"]  # text without numbers sorts first


def test_a_batch_counts_as_its_reports_one_by_one(factory):
    """``count_reports_in_groups`` (a worker's batch) leaves what counting each report alone leaves."""
    from crashsvc.models import GroupHistory
    from workers.store import count_reports_in_groups, insert_reports

    app_id = factory.app_row().id
    reports = [
        (0, "1.0", "i1"),
        (30, "1.2", "i2"),
        (5, "1.1", "i1"),
        (2, None, None),
        (-3, "0.9", "i3"),
        (30, "1.3", "i2"),
    ]
    gid = store(factory, app_id=app_id, at=DAY, app_version="1.0", install="i1")  # reports[0]
    with factory.services.db.transaction() as session:  # resolved before the batch: it regresses once
        session.get(Group, gid).status = "resolved"
    other_app = factory.app_row().id  # the same reports one by one, in another order
    for h, v, i in reports[1:]:
        store(factory, app_id=other_app, at=DAY + timedelta(hours=h), app_version=v, install=i)
    contexts = []
    for h, v, i in reports[1:]:
        ctx = ProcessingContext(
            report_id=str(uuid.uuid4()),
            app_id=app_id,
            received_at=DAY + timedelta(hours=h),
            report=variant(factory, app_version=v or ""),
            services=factory.services,
        )
        if v is None:
            del ctx.report["app"]["version"]
        ctx.install_hash = i
        group_signature(ctx)
        contexts.append(ctx)
    with factory.services.db.transaction() as session:
        inserted = insert_reports(session, contexts)
        count_reports_in_groups(session, [(report.group_id, report) for report in inserted])
    assert {report.group_id for report in inserted} == {gid}
    batched = snapshot(factory, gid)
    with factory.services.db.sessions() as session:
        other_gid = session.scalars(select(Group.id).where(Group.app_id == other_app)).one()
        single_gid = session.scalars(select(Group.id).where(Group.app_id == app_id)).one()
        history = session.scalars(select(GroupHistory.action).where(GroupHistory.group_id == gid)).all()
    assert single_gid == gid
    store(factory, app_id=other_app, at=DAY, app_version="1.0", install="i1")  # reports[0], last here
    assert (batched["count"], batched["installs"]) == (6, 3)
    assert (batched["first_version"], batched["last_version"]) == ("0.9", "1.3")
    assert batched == snapshot(factory, other_gid)
    assert history.count("regressed") == 1
    with factory.services.db.transaction() as session:
        recompute_group(session, gid)
    assert snapshot(factory, gid) == batched


def test_values_with_array_syntax_count_as_they_are(factory):
    """Breakdown values and installs reach PostgreSQL as array literals: quotes, backslashes, commas,
    braces, spaces and the word NULL must come back unchanged, each value its own row."""
    app_id = factory.app_row().id
    odd = ['a "quoted", {braced} model', "back\\slash\\", "NULL", " spaced ", "ünï,cödé", "{}", '\\"']
    gid = None
    for n, model in enumerate(odd):
        gid = store(
            factory,
            app_id=app_id,
            at=DAY + timedelta(minutes=n),
            device_model=model,
            app_version=f"1.{n}",
            install=model,
        )
    state = snapshot(factory, gid)
    assert sorted(state["breakdowns"]["device_model"]) == sorted((model, 1) for model in odd)
    assert (state["count"], state["installs"]) == (len(odd), len(odd))
    assert state["last_version"] == f"1.{len(odd) - 1}"
    from crashsvc.models import GroupInstall

    with factory.services.db.sessions() as session:
        installs = session.scalars(
            select(GroupInstall.install_hash).where(GroupInstall.group_id == gid)
        ).all()
    assert sorted(installs) == sorted(odd)


def test_a_connection_lost_in_the_pipelined_count_is_a_transient_error(factory):
    """PostgreSQL counts in one pipelined round trip on the raw driver: a server gone mid-batch must
    still surface as SQLAlchemy's OperationalError with the connection invalidated (the worker's
    "transient" test), not as a bare driver error."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from crashsvc.groups.counters import count_reports
    from workers.store import StoredReport

    if factory.services.db.is_sqlite:
        pytest.skip("the pipeline is PostgreSQL's")
    gid = store(factory, app_id=factory.app_row().id)
    report = StoredReport(
        str(uuid.uuid4()), gid, DAY, "1.0", "iOS", "17.1", "iPhone15,2", None
    )  # no install: pipeline first
    with factory.services.db.write_sessions() as session, factory.services.db.engine.connect() as other:
        session.begin()
        pid = session.scalar(text("SELECT pg_backend_pid()"))
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(OperationalError) as raised:
            count_reports(session, [(gid, report)])
        assert raised.value.connection_invalidated
    assert snapshot(factory, gid)["count"] == 1
