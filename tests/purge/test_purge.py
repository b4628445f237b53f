"""``crashsvc purge``: dry run, exact deletion, consistent counters, empty groups, retention, audit, space."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from crashsvc.audit import list_audit_events
from crashsvc.cli import main
from crashsvc.models import App, Group, GroupDayCount, GroupInstall, Report
from crashsvc.purge.reports import PurgeScope, ReportPurger
from crashsvc.purge.space import sqlite_auto_vacuum
from tests.purge.helpers import age_reports, assert_consistent, bulk_reports, post_reports, report_count


def cli(factory, *args: str):
    settings = factory.services.settings
    env = {
        "CRASHSVC_DATABASE_URL": settings.database_url_resolved,
        "CRASHSVC_DATA_DIR": str(settings.data_dir),
        "CRASHSVC_REDIS_URL": settings.redis_url,
    }
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def aged(client, factory):
    """One app with 12 processed reports in 3 groups: 8 aged 100 days, 4 recent."""
    app_row = factory.app_row()
    answers = post_reports(client, factory, app_row, 12)
    factory.process_queue()
    ids = [answer["id"] for answer in answers]
    # Kind 0 (one group) is all old; kinds 1 and 2 keep recent reports.
    old = [rid for index, rid in enumerate(ids) if index % 3 == 0 or index < 6]
    recent = [rid for rid in ids if rid not in old]
    age_reports(factory.services.db, old, days=100)
    assert_consistent(factory.services.db)
    return app_row, old, recent


def _snapshot(db):
    with db.sessions() as session:
        return (
            sorted(session.scalars(select(Report.id))),
            sorted((g.id, g.count, g.affected_installs) for g in session.scalars(select(Group))),
            sorted((d.group_id, d.day, d.count) for d in session.scalars(select(GroupDayCount))),
            sorted((i.group_id, i.install_hash, i.count) for i in session.scalars(select(GroupInstall))),
        )


def test_dry_run_shows_the_plan_and_changes_nothing(factory, aged):
    app_row, old, _recent = aged
    before = _snapshot(factory.services.db)
    result = cli(factory, "purge", "--older-than", "90d", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    [row] = [row for row in plan["apps"] if row["app_id"] == app_row.id]
    assert row["reports"] == len(old)
    assert row["oldest"] < row["newest"] < row["cutoff"]
    assert row["estimated_bytes"] > 0
    assert _snapshot(factory.services.db) == before
    with factory.services.db.sessions() as session:
        assert list_audit_events(session) == []


def test_purge_deletes_exactly_the_old_reports_and_keeps_counters_exact(factory, aged):
    _app_row, old, recent = aged
    result = cli(factory, "purge", "--older-than", "90d", "--yes", "--batch-size", "3", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["deleted"] == len(old)
    # SQLite gives the aged reports their day's table, dropped whole; PostgreSQL has no partition
    # for that day (only the days ahead), so they lie in its default partition: 3 batches of 3.
    if factory.services.db.is_sqlite:
        assert (summary["batches"], summary["days_dropped"]) == (1, 1)
    else:
        assert (summary["batches"], summary["days_dropped"]) == (3, 0)
    with factory.services.db.sessions() as session:
        assert sorted(session.scalars(select(Report.id))) == sorted(recent)
        # No group, day or install row is left at zero; groups without reports are gone.
        assert all(g.count > 0 for g in session.scalars(select(Group)))
        assert all(d.count > 0 for d in session.scalars(select(GroupDayCount)))
    assert_consistent(factory.services.db)


def test_a_second_run_finds_nothing(factory, aged):
    cli(factory, "purge", "--older-than", "90d", "--yes")
    result = cli(factory, "purge", "--older-than", "90d", "--yes", "--json")
    assert json.loads(result.output)["deleted"] == 0


def test_empty_groups_are_removed_unless_kept(factory, aged):
    app_row, old, _recent = aged
    db = factory.services.db
    with db.sessions() as session:
        old_only = set(session.scalars(select(Report.group_id).where(Report.id.in_(old))))
        old_only -= set(session.scalars(select(Report.group_id).where(Report.id.notin_(old))))
    assert old_only, "the fixture should leave at least one group with only old reports"
    cli(factory, "purge", "--older-than", "90d", "--yes", "--keep-empty-groups")
    with db.sessions() as session:
        kept = {g.id: g.count for g in session.scalars(select(Group).where(Group.id.in_(old_only)))}
    assert kept == dict.fromkeys(old_only, 0)
    cli(factory, "purge", "--older-than", "90d", "--yes")  # nothing to delete: empty groups stay
    assert_consistent(db)


def test_retention_applies_each_apps_own_period(client, factory):
    db = factory.services.db
    short = factory.app_row(retention_days=10)
    default = factory.app_row()  # DEFAULT_RETENTION_DAYS: 90
    bulk_reports(db, short.id, 60, days=30)
    bulk_reports(db, default.id, 60, days=30)
    result = cli(factory, "purge", "--retention", "--yes", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["per_app"] == {str(short.id): 40}  # reports aged 10..29 days of 0..29
    assert report_count(db, app_id=default.id) == 60
    assert_consistent(db)


def test_group_and_app_filters(factory):
    db = factory.services.db
    app_a, app_b = factory.app_row(), factory.app_row()
    groups_a = bulk_reports(db, app_a.id, 80, days=20)
    bulk_reports(db, app_b.id, 40, days=20)
    # bulk_reports: report i is i % 20 days old, in group i % 4; those 0 days old (i % 20 == 0) are in group 0.
    result = cli(factory, "purge", "--older-than", "1d", "--group", str(groups_a[0]), "--yes", "--json")
    assert result.exit_code == 0, result.output
    assert report_count(db, group_id=groups_a[0]) == 4
    assert report_count(db, app_id=app_a.id) == 80 - 20 + 4
    cli(factory, "purge", "--older-than", "1d", "--app", app_b.name, "--yes")
    assert report_count(db, app_id=app_b.id) == 2
    assert report_count(db, app_id=app_a.id) == 64
    assert_consistent(db)


def test_usage_errors(factory):
    assert cli(factory, "purge", "--yes").exit_code == 2
    assert cli(factory, "purge", "--older-than", "90d", "--retention").exit_code == 2
    assert cli(factory, "purge", "--older-than", "soon").exit_code == 2
    assert cli(factory, "purge", "--older-than", "1d", "--app", "nope").exit_code == 1


def test_every_purge_is_audited_with_its_scope_and_count(factory, aged):
    app_row, old, _recent = aged
    cli(factory, "purge", "--older-than", "90d", "--yes", "--batch-size", "5")
    with factory.services.db.sessions() as session:
        [event] = list_audit_events(session, app_id=app_row.id)
    assert (event.action, event.app_id, event.count) == ("purge", app_row.id, len(old))
    assert event.actor.startswith("cli:")
    assert event.scope["older_than_seconds"] == 90 * 86400
    assert event.detail["status"] == "finished"
    text = json.dumps({"scope": event.scope, "detail": event.detail})
    assert "EXC_" not in text and "iPhone" not in text  # counts and filters only, never contents
    listed = json.loads(cli(factory, "audit", "--app", str(app_row.id), "--json").output)["events"]
    assert [e["id"] for e in listed] == [event.id]


def _sqlite_db_with_reports(make_app, tmp_path, name: str, count: int):
    """A fresh SQLite database (own file) holding ``count`` bulk reports of one app over 30 days."""
    app = make_app(database_url=f"sqlite:///{tmp_path / f'{name}.sqlite3'}")
    db = app.extensions["crashsvc"].db
    with db.transaction() as session:
        app_row = App(name=name, ingest_key=name[0] * 40)
        session.add(app_row)
    bulk_reports(db, app_row.id, count, days=30)
    return db


def test_fresh_sqlite_database_has_incremental_auto_vacuum_and_purge_gives_space_back(make_app, tmp_path):
    db = _sqlite_db_with_reports(make_app, tmp_path, "space", 3000)
    assert sqlite_auto_vacuum(db.engine) == 2
    purger = ReportPurger(db, actor="test", batch_size=500)
    from datetime import timedelta

    result = purger.run(PurgeScope(older_than=timedelta(days=1)), 90)
    assert result.total == 2900  # all but the 100 reports 0 days old
    assert result.space is not None and result.space.reclaimed > 0
    assert result.space.after < result.space.before
    assert_consistent(db)


def test_the_purges_large_sqlite_page_cache_leaves_with_its_connection(make_app, tmp_path):
    db = _sqlite_db_with_reports(make_app, tmp_path, "cache", 300)
    from datetime import timedelta

    ReportPurger(db, actor="test", batch_size=50).run(PurgeScope(older_than=timedelta(days=1)), 90)
    pooled = [db.engine.connect() for _ in range(db.engine.pool.checkedin())]
    try:
        sizes = {connection.exec_driver_sql("PRAGMA cache_size").scalar() for connection in pooled}
    finally:
        for connection in pooled:
            connection.close()
    assert pooled and sizes == {-2000}  # SQLite's default: no pooled connection kept the purge's cache


def test_sqlite_reclaim_stops_at_its_budget_and_a_later_run_returns_the_rest(make_app, tmp_path):
    from datetime import timedelta

    from crashsvc.purge.space import sqlite_free_pages

    db = _sqlite_db_with_reports(make_app, tmp_path, "budget", 3000)
    with db.engine.connect() as connection:
        page_size = connection.exec_driver_sql("PRAGMA page_size").scalar()
    scope = PurgeScope(older_than=timedelta(days=1))

    # No time to return anything: the deleted reports' pages stay free, reusable, and are reported.
    first = ReportPurger(db, actor="test", batch_size=500, reclaim_budget=0).run(scope, 90).space
    assert first is not None and first.reclaimed == 0
    assert first.free_before_reclaim > 0
    assert first.free_after == first.free_before_reclaim == sqlite_free_pages(db.engine) * page_size

    # The next run deletes nothing, yet returns what the first one left (here without a budget).
    second = ReportPurger(db, actor="test", reclaim_budget=None).run(scope, 90)
    assert second.total == 0
    assert second.space is not None and second.space.reclaimed >= first.free_after
    assert second.space.free_after == 0 and sqlite_free_pages(db.engine) == 0
    assert_consistent(db)


def test_batch_size_and_rests_default_per_backend(make_app, database_url):
    from crashsvc.purge.reports import (
        POSTGRES_BATCH_SIZE,
        POSTGRES_PAUSE_RATIO,
        SQLITE_BATCH_SIZE,
        SQLITE_PAUSE_RATIO,
    )

    db = make_app(database_url=database_url).extensions["crashsvc"].db
    purger = ReportPurger(db, actor="test")
    if db.is_sqlite:
        assert (purger.batch_size, purger.pause_ratio) == (SQLITE_BATCH_SIZE, SQLITE_PAUSE_RATIO)
    else:
        assert (purger.batch_size, purger.pause_ratio) == (POSTGRES_BATCH_SIZE, POSTGRES_PAUSE_RATIO)
    chosen = ReportPurger(db, actor="test", batch_size=7, pause_ratio=0)
    assert (chosen.batch_size, chosen.pause_ratio) == (7, 0)


def test_a_sqlite_purge_rests_between_batches_only_when_asked(make_app, tmp_path):
    from datetime import timedelta

    db = _sqlite_db_with_reports(make_app, tmp_path, "rests", 3000)
    scope = PurgeScope(older_than=timedelta(days=20))
    unrested = ReportPurger(db, actor="test", batch_size=500, reclaim=False).run(scope, 90)
    assert unrested.batches >= 2 and unrested.rest_seconds == 0
    assert_consistent(db)

    scope = PurgeScope(older_than=timedelta(days=1))
    resting = ReportPurger(db, actor="test", batch_size=500, reclaim=False, pause_ratio=0.2).run(scope, 90)
    assert resting.batches >= 2 and resting.rest_seconds > 0
    assert_consistent(db)
