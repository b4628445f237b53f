"""Retention and deletion: crash data does not live forever.

- ``reports``     — the plan (dry run) and the batched purge of reports older than a cutoff;
- ``aggregates``  — uncounting many reports at once, recount and drift checks of group aggregates;
- ``space``       — giving the space back (SQLite incremental vacuum, PostgreSQL VACUUM);
- ``symbols``     — symbol files no report needs any more;
- ``deletion``    — deleting one report wherever it is (spool, queue, worker, database);
- ``api``         — ``DELETE /api/v1/reports/<id>`` with the report's delete token;
- ``schedule``    — the daily retention purge inside the worker.

The reports are stored one table per day received (``crashsvc.models.partitions``): a day whose
reports have all expired is uncounted and dropped whole. Every purge and deletion is written to the
audit log (``crashsvc.audit``).
"""
