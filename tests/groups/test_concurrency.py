"""Two real worker processes counting reports of one group at once lose no update and count no report twice."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

from rq import Queue
from rq.registry import ScheduledJobRegistry

from crashsvc.models import Group, Report
from tests.conftest import PROJECT_ROOT
from tests.factories import Factory
from tests.groups.conftest import Api, World, variant

REPORTS = 60


def _run_two_workers(settings) -> None:
    env = os.environ | {
        "CRASHSVC_DATABASE_URL": settings.database_url_resolved,
        "CRASHSVC_REDIS_URL": settings.redis_url,
        "CRASHSVC_DATA_DIR": str(settings.data_dir),
        "CRASHSVC_WORKER_BATCH_SIZE": "4",
        "CRASHSVC_LOG_LEVEL": "ERROR",
    }
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "crashsvc.cli",
                "worker",
                "--burst",
                "--name",
                f"w{n}-{uuid.uuid4().hex[:6]}",
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for n in range(2)
    ]
    errors = []
    for process in workers:
        try:
            _out, err = process.communicate(timeout=180)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        errors.append(err.decode()[-2000:] if process.returncode else "")
    assert errors == ["", ""], errors


def test_two_workers_on_one_group_count_exactly(make_app, database_url):
    # Retries after a transient database error (SQLite lets one writer in at a time) come back in 1 s.
    app = make_app(database_url=database_url, job_retry_backoff="1")
    factory, client = Factory(app), app.test_client()
    world = World(
        factory, client, factory.app_row(), None, Api(client, factory.token(factory.user(admin=True)))
    )
    world.send(*(variant(factory, install=f"install-{n % 7}") for n in range(REPORTS)))
    settings = factory.services.settings
    queue = Queue(settings.queue_name, connection=factory.services.redis)
    job_ids = queue.get_job_ids()
    assert len(job_ids) == REPORTS
    # Some jobs are queued twice: both workers may pick the same report at the same moment.
    factory.services.redis.rpush(queue.key, *job_ids[:10])

    _run_two_workers(settings)
    for _round in range(10):  # transiently failed reports are retried, never lost
        if not ScheduledJobRegistry(queue=queue).count:
            break
        time.sleep(1.2)
        _run_two_workers(settings)

    with factory.services.db.sessions() as session:
        assert session.query(Report).filter(Report.app_id == world.app_row.id).count() == REPORTS
        [group] = session.query(Group).filter(Group.app_id == world.app_row.id).all()
        assert (group.count, group.affected_installs) == (REPORTS, 7)
    [listed] = world.groups()
    assert listed["daily_14d"][-1] == REPORTS
    detail = world.api.get(f"/groups/{listed['id']}").get_json()
    assert detail["breakdowns"]["app_version"] == [{"value": "2.4.1", "count": REPORTS}]
