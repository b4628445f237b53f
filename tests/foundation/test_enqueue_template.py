"""The per-process RQ enqueue template writes exactly the job RQ itself would write."""

from __future__ import annotations

import uuid

from rq.job import Job

from crashsvc.queue import PROCESS_REPORT_JOB, EnqueueTemplate


def test_the_template_renders_what_rq_records_for_any_id(edge_factory):
    queue = edge_factory.services.queue
    template = queue._enqueue_template()
    assert template is not None, "RQ's layout was not understood: every report would pay for a recorded Job"
    for _ in range(20):
        report_id = str(uuid.uuid4())
        assert EnqueueTemplate._same_but_time(
            queue._record_rq_enqueue_commands(report_id), template.render(report_id)
        )


def test_a_job_queued_from_the_template_reads_back_like_one_rq_built(edge_factory):
    queue = edge_factory.services.queue
    redis = edge_factory.services.redis
    templated, recorded = str(uuid.uuid4()), str(uuid.uuid4())
    queue._accept_script(
        keys=["crashsvc:rate:none", "s1", "r1", "m"],
        args=_accept_args(queue._enqueue_template().render(templated)),
    )
    queue._accept_script(
        keys=["crashsvc:rate:none", "s2", "r2", "m"],
        args=_accept_args(queue._record_rq_enqueue_commands(recorded)),
    )
    a, b = Job.fetch(templated, connection=redis), Job.fetch(recorded, connection=redis)
    assert (a.func_name, a.args, a.kwargs) == (PROCESS_REPORT_JOB, (templated,), {})
    for attribute in (
        "func_name",
        "kwargs",
        "timeout",
        "result_ttl",
        "failure_ttl",
        "retries_left",
        "retry_intervals",
        "origin",
        "get_status",
    ):
        value_a, value_b = getattr(a, attribute), getattr(b, attribute)
        if callable(value_a):
            value_a, value_b = value_a(), value_b()
        assert value_a == value_b, attribute
    assert a.description == f"process report {templated}"
    assert a.created_at is not None and a.enqueued_at is not None


def test_a_layout_the_template_does_not_understand_falls_back_to_recording():
    def record(report_id):  # an RQ that also wrote the id somewhere new
        return [
            ("HSET", f"rq:job:{report_id}", "status", "queued", "other", f"x-{report_id}"),
            ("RPUSH", "rq:queue:q", report_id),
        ]

    assert EnqueueTemplate.build(record, serializer=None) is None

    def record_changing(report_id):  # or wrote something that varies per job without a slot
        return [
            ("HSET", f"rq:job:{report_id}", "status", "queued", "nonce", str(uuid.uuid4())),
            ("RPUSH", "rq:queue:q", report_id),
        ]

    assert EnqueueTemplate.build(record_changing, serializer=None) is None


def _accept_args(commands):
    args = [0, 120, "0", 60, b"sealed", 60]
    for command in commands:
        args.append(len(command))
        args.extend(command)
    return args
