"""Service metrics kept as counters in Redis, so web and worker processes add up in one place.

Labels are fixed vocabularies (outcome, reason code, stage): never an app name, key or report value.
``/metrics`` renders them in the Prometheus text format.
"""

from __future__ import annotations

from redis import Redis
from redis.client import Pipeline

COUNTERS_KEY = "crashsvc:metrics:counters"
LATENCY_KEY = "crashsvc:metrics:latency"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

COUNTER_DOCS = {
    "reports_accepted_total": "Reports accepted (2xx) by the ingestion endpoints.",
    "reports_duplicate_total": "Resent reports answered with the id they were first given.",
    "reports_rejected_total": "Reports refused, by error code.",
    "reports_spooled_total": "Reports written to the disk spool because Redis was unreachable.",
    "reports_processed_total": "Reports processed and stored by a worker.",
    "reports_failed_total": "Processing attempts that failed.",
    "reports_retried_total": "Processing attempts retried after a transient failure.",
    "envelope_items_discarded_total": "Sentry envelope items answered and discarded unread, by type.",
}


def counter_field(name: str, **labels: str) -> str:
    if not labels:
        return name
    inner = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def incr(target: Redis | Pipeline, name: str, amount: int = 1, **labels: str) -> None:
    target.hincrby(COUNTERS_KEY, counter_field(name, **labels), amount)


def observe_latency(target: Redis | Pipeline, seconds: float) -> None:
    pipe = target.pipeline(transaction=False) if isinstance(target, Redis) else target
    for bound in LATENCY_BUCKETS:
        if seconds <= bound:
            pipe.hincrby(LATENCY_KEY, f"le={bound}", 1)
    pipe.hincrby(LATENCY_KEY, "le=+Inf", 1)
    pipe.hincrbyfloat(LATENCY_KEY, "sum", seconds)
    if pipe is not target:
        pipe.execute()


def render(redis: Redis, gauges: dict[str, tuple[float, str]]) -> str:
    """Prometheus text exposition of the counters, the latency histogram and ``gauges``."""
    counters = {key.decode(): int(value) for key, value in redis.hgetall(COUNTERS_KEY).items()}
    lines: list[str] = []
    for name, doc in COUNTER_DOCS.items():
        lines.append(f"# HELP crashsvc_{name} {doc}")
        lines.append(f"# TYPE crashsvc_{name} counter")
        series = {k: v for k, v in counters.items() if k == name or k.startswith(name + "{")}
        if not series:
            lines.append(f"crashsvc_{name} 0")
        for key, value in sorted(series.items()):
            lines.append(f"crashsvc_{key} {value}")
    latency = {key.decode(): float(value) for key, value in redis.hgetall(LATENCY_KEY).items()}
    lines.append("# HELP crashsvc_job_latency_seconds Time from acceptance to stored report.")
    lines.append("# TYPE crashsvc_job_latency_seconds histogram")
    for bound in (*LATENCY_BUCKETS, "+Inf"):
        lines.append(
            f'crashsvc_job_latency_seconds_bucket{{le="{bound}"}} {int(latency.get(f"le={bound}", 0))}'
        )
    lines.append(f"crashsvc_job_latency_seconds_sum {latency.get('sum', 0.0)}")
    lines.append(f"crashsvc_job_latency_seconds_count {int(latency.get('le=+Inf', 0))}")
    for name, (value, doc) in gauges.items():
        lines.append(f"# HELP crashsvc_{name} {doc}")
        lines.append(f"# TYPE crashsvc_{name} gauge")
        lines.append(f"crashsvc_{name} {value}")
    return "\n".join(lines) + "\n"
