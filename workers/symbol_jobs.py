"""RQ job run after a symbol upload: build the SymCaches, then reprocess the reports that waited.

The upload request only stores bytes and records rows (``pending``); building a SymCache can take
seconds for a large dSYM, so it happens here. Once the files are ``ready``, every stored report of
the app that listed one of them as missing gets a ``workers.reprocess.reprocess_report`` job.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from crashsvc.models import SymbolFile
from crashsvc.queue import REPROCESS_REPORT_JOB
from crashsvc.symbols import SymbolFileError, build_symcache
from crashsvc.symbols.catalog import keys_provided_by, reports_waiting_for, stored_record
from crashsvc.symbols.dbindex import bump_symbols_generation
from workers import runtime

log = logging.getLogger("crashsvc.worker")


def build_symcaches(symbol_file_ids: list[int]) -> dict[str, int]:
    """Make the given symbol files ``ready`` (building SymCaches) and queue the reports they unblock.

    Idempotent: ready files are not rebuilt; a report queued twice is reprocessed to the same result.
    """
    services = runtime.services()
    root = services.settings.symbols_path
    ready: list[SymbolFile] = []
    failed = 0
    with services.db.transaction() as session:
        rows = session.scalars(select(SymbolFile).where(SymbolFile.id.in_(symbol_file_ids))).all()
        for row in rows:
            if row.status != "ready":
                try:
                    _build(row, root)
                except SymbolFileError as error:
                    row.status = "failed"
                    failed += 1
                    log.warning("symcache_build_failed", extra={"symbol_file_id": row.id, "code": error.code})
                    continue
                row.status = "ready"
            ready.append(row)
    if ready:  # after the commit: workers that cached "no symbols" look again from their next batch
        bump_symbols_generation(services.redis)
        invalidate = getattr(getattr(services, "symbol_index", None), "invalidate", None)
        if invalidate is not None:
            invalidate()
    queued = 0
    with services.db.sessions() as session:
        for app_id in sorted({row.app_id for row in ready}):
            keys = set().union(*(keys_provided_by(row) for row in ready if row.app_id == app_id))
            for report_id in reports_waiting_for(session, app_id, keys):
                services.queue.enqueue_task(
                    REPROCESS_REPORT_JOB,
                    report_id,
                    description=f"reprocess report {report_id} (late symbols)",
                )
                queued += 1
    log.info("symbol_files_ready", extra={"ready": len(ready), "failed": failed, "reprocess": queued})
    return {"ready": len(ready), "failed": failed, "reprocess": queued}


def _build(row: SymbolFile, root) -> None:
    record = stored_record(row, root)
    if record.symcache_path is not None and not record.symcache_path.exists():
        build_symcache(record)
