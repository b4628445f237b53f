"""Merge / unmerge keep every report and count exactly; signatures diff previews and regroup applies another algorithm."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from crashsvc.cli import main
from crashsvc.groups import lifecycle, queries
from crashsvc.groups.regroup import diff_signatures, regroup_reports
from crashsvc.models import Group, Report
from tests.groups.test_counters import snapshot, store
from tests.purge.helpers import assert_consistent, post_reports
from workers.batch import process_reports
from workers.grouping import ALGORITHMS, SignatureResult


def test_merge_moves_reports_later_ones_follow_and_unmerge_restores(factory):
    app_id = factory.app_row().id
    a = store(factory, app_id=app_id, install="i1", app_version="1.0")
    b = store(factory, app_id=app_id, install="i1", bug="B", app_version="1.1")
    c = store(factory, app_id=app_id, install="i2", bug="C", app_version="1.2")
    admin = factory.user(admin=True)
    with factory.services.db.transaction() as session:
        groups = {gid: session.get(Group, gid) for gid in (a, b, c)}
        lifecycle.merge_groups(session, groups[a], [groups[b], groups[c]], user=admin)
    merged = snapshot(factory, a)
    assert (merged["count"], merged["installs"]) == (3, 2)
    assert [value for value, _ in merged["breakdowns"]["app_version"]] == ["1.0", "1.1", "1.2"]
    assert snapshot(factory, b)["count"] == 0
    assert (
        store(factory, app_id=app_id, install="i3", bug="B") == a
    )  # later reports of a source join the target
    with factory.services.db.sessions() as session:
        assert [g.id for g in queries.list_groups(session, app_id, queries.GroupFilter())[0]] == [a]
        assert [h.action for h in queries.group_history(session, b)] == ["merged_into"]

    with factory.services.db.transaction() as session:
        restored = lifecycle.unmerge_group(session, session.get(Group, a), user=admin)
        assert sorted(group.id for group in restored) == [b, c]
    assert [snapshot(factory, gid)["count"] for gid in (a, b, c)] == [1, 2, 1]  # b got its late report too
    assert snapshot(factory, b)["installs"] == 2
    with factory.services.db.sessions() as session:
        assert session.get(Group, b).merged_into_id is None
        assert [h.action for h in queries.group_history(session, a)] == ["merged", "unmerged"]


class ByExceptionType:
    """A coarser test algorithm: one group per exception type."""

    id = "sig:test"

    def generate(self, report):
        kind = report.get("exception", {}).get("type") or "?"
        return SignatureResult(
            "sig:test", kind, f"test-{kind}", None, [{"kind": "exception_type", "value": kind}]
        )


def test_signatures_diff_and_regroup(factory, monkeypatch):
    monkeypatch.setitem(ALGORITHMS, "sig:test", ByExceptionType())
    app_row = factory.app_row()
    in_app = {"function": "MyApp.Other.place", "in_app": True, "instruction_addr": "0x100004000"}
    store(factory, app_id=app_row.id, install="i1")
    store(factory, app_id=app_row.id, install="i2")
    # Same exception type, another crashing frame: sig:1 splits it off, sig:test does not.
    other = factory.report()["threads"]
    other[0]["frames"].insert(0, in_app)
    store(factory, app_id=app_row.id, install="i3", threads=other)
    sessions = factory.services.db.sessions
    with sessions() as session:
        before = {g.id: g.count for g in session.scalars(select(Group))}
    assert sorted(before.values()) == [1, 2]

    diff = diff_signatures(sessions, "sig:test", app_row.id)
    assert (diff.examined, diff.moving, len(diff.moves)) == (3, 3, 2)
    with sessions() as session:
        assert {g.id: g.count for g in session.scalars(select(Group))} == before  # a preview writes nothing

    summary = regroup_reports(sessions, app_row.id, "sig:test")
    assert (summary.examined, summary.moved, summary.groups_created) == (3, 3, 1)
    assert sorted(summary.groups_emptied) == sorted(before)
    with sessions() as session:
        [group] = queries.list_groups(session, app_row.id, queries.GroupFilter())[0]
        assert (group.algorithm, group.count, group.affected_installs) == ("sig:test", 3, 3)
        assert {r.signature_algorithm for r in session.scalars(select(Report))} == {"sig:test"}
        assert queries.group_history(session, next(iter(before)))[-1].action == "regrouped"
    again = regroup_reports(sessions, app_row.id, "sig:test")
    assert (again.moved, again.groups_created, again.groups_emptied) == (0, 0, [])
    assert diff_signatures(sessions, "sig:test").moving == 0


def test_signatures_cli(factory, monkeypatch):
    monkeypatch.setitem(ALGORITHMS, "sig:test", ByExceptionType())
    app_row = factory.app_row()
    store(factory, app_id=app_row.id)
    settings = factory.services.settings
    monkeypatch.setenv("CRASHSVC_DATABASE_URL", settings.database_url_resolved)
    monkeypatch.setenv("CRASHSVC_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CRASHSVC_REDIS_URL", settings.redis_url)
    runner = CliRunner()
    result = runner.invoke(
        main, ["signatures", "diff", "--algorithm", "sig:test", "--app", app_row.name, "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["moving"] == 1
    text = runner.invoke(main, ["signatures", "diff", "--algorithm", "sig:test"])
    assert "1 would move" in text.output and "a new group: EXC_CRASH" in text.output
    assert runner.invoke(main, ["signatures", "diff", "--algorithm", "sig:nope"]).exit_code == 2
    moved = runner.invoke(main, ["reprocess", "--regroup", "--now", "--app", str(app_row.id), "--json"])
    assert moved.exit_code == 0, moved.output
    assert json.loads(moved.output)["moved"] == 0  # --now regroups with the default algorithm: nothing moves
    regroup = runner.invoke(main, ["signatures", "regroup", "--algorithm", "sig:test", "--json"])
    assert json.loads(regroup.output)["moved"] == 1


def _postgresql_only(factory, what: str) -> None:
    if factory.services.db.is_sqlite:
        pytest.skip(
            f"SQLite: a store holds the write lock from its first read, so no {what} commits in between"
        )


def _merge_between_look_up_and_insert(
    factory, monkeypatch, target_id: int, source_id: int, *, unmerge: bool = False
) -> list[int]:
    """Make the next store commit a merge of ``source_id`` into ``target_id`` (or, with ``unmerge``,
    undo the merges into ``target_id``) right after the worker looked its group up (unlocked) and
    before it inserts and counts: the PostgreSQL race."""
    from workers import store as store_module

    resolve = store_module.find_or_create_groups
    merged: list[int] = []

    def resolve_then_merge(session, contexts, groups):
        resolve(session, contexts, groups)
        if not merged:
            with factory.services.db.transaction() as other:
                if unmerge:
                    lifecycle.unmerge_group(other, other.get(Group, target_id), user=None)
                else:
                    lifecycle.merge_groups(
                        other, other.get(Group, target_id), [other.get(Group, source_id)], user=None
                    )
            merged.append(source_id)

    monkeypatch.setattr(store_module, "find_or_create_groups", resolve_then_merge)
    return merged


def test_a_report_stored_while_its_group_is_merged_lands_in_the_target(factory, monkeypatch):
    _postgresql_only(factory, "merge")

    app_id = factory.app_row().id
    target = store(factory, app_id=app_id, install="i1")
    source = store(factory, app_id=app_id, install="i2", bug="B")
    merged = _merge_between_look_up_and_insert(factory, monkeypatch, target, source)
    assert store(factory, app_id=app_id, install="i3", bug="B") == target
    assert merged == [source], "the merge did not run between look-up and insert: no race was tested"
    assert (snapshot(factory, target)["count"], snapshot(factory, target)["installs"]) == (3, 3)
    assert snapshot(factory, source)["count"] == 0
    with factory.services.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Report).where(Report.group_id == source)) == 0
    assert_consistent(factory.services.db)


def test_a_batch_stored_while_its_group_is_merged_lands_in_the_target(client, factory, monkeypatch):
    _postgresql_only(factory, "merge")

    app_row = factory.app_row()
    target = store(factory, app_id=app_row.id, install="i1", bug="Target")
    [first] = post_reports(client, factory, app_row, 1, kinds=1)
    factory.process_queue()
    with factory.services.db.sessions() as session:
        source = session.scalar(select(Report.group_id).where(Report.id == first["id"]))
    merged = _merge_between_look_up_and_insert(factory, monkeypatch, target, source)
    answers = post_reports(client, factory, app_row, 3, kinds=1)
    outcomes = process_reports(factory.services, [answer["id"] for answer in answers])
    assert merged == [source], "the merge did not run between look-up and insert: no race was tested"
    assert {outcome.result for outcome in outcomes.values()} == {"stored"}, outcomes
    with factory.services.db.sessions() as session:
        groups = set(session.scalars(select(Report.group_id)))
    assert groups == {target}
    assert snapshot(factory, target)["count"] == 5 and snapshot(factory, source)["count"] == 0
    assert_consistent(factory.services.db)


def test_a_report_stored_while_its_source_is_unmerged_goes_back_with_it(factory, monkeypatch):
    _postgresql_only(factory, "unmerge")

    app_id = factory.app_row().id
    target = store(factory, app_id=app_id, install="i1")
    source = store(factory, app_id=app_id, install="i2", bug="B")
    with factory.services.db.transaction() as session:
        lifecycle.merge_groups(session, session.get(Group, target), [session.get(Group, source)], user=None)
    unmerged = _merge_between_look_up_and_insert(factory, monkeypatch, target, source, unmerge=True)
    assert store(factory, app_id=app_id, install="i3", bug="B") == source
    assert unmerged == [source], "the unmerge did not run between look-up and insert: no race was tested"
    assert snapshot(factory, target)["count"] == 1 and snapshot(factory, source)["count"] == 2
    assert_consistent(factory.services.db)
