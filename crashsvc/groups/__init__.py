"""Groups of reports (one bug each): counters, lifecycle (status, notes, merge), queries, regrouping.

- ``counters``  — the only writer of group aggregates: atomic per-report increments and recompute;
- ``lifecycle`` — status changes with history, automatic regressions, notes, merge / unmerge;
- ``queries``   — what the API and the web UI read (filters, sparklines, breakdowns, overview);
- ``regroup``   — move stored reports to the groups another signature algorithm gives them;
- ``versions``  — comparing app versions (``2.10`` after ``2.9``).
"""
