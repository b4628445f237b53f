"""``crashsvc signature FILE.json``: show the signature of a report on disk and why each frame counted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click


@click.command("signature")
@click.argument(
    "report_file", metavar="FILE.json", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--algorithm", default=None, metavar="ID", help="Signature algorithm id (default: the current one)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the whole result as JSON.")
def signature(report_file: Path, algorithm: str | None, as_json: bool) -> None:
    """Print the signature of a native report (after symbolication) and its explanation."""
    # Imported here so `crashsvc --help` does not load the grouping rules' dependencies.
    from workers.grouping import DEFAULT_ALGORITHM, UnknownAlgorithm, get_algorithm

    try:
        report = json.loads(report_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise click.ClickException(f"{report_file}: not a JSON document ({error})") from None
    if isinstance(report, dict) and isinstance(report.get("report"), dict) and "expected_signature" in report:
        report = report["report"]  # a labelled test case: tests/grouping/cases/*/*.json
    if not isinstance(report, dict):
        raise click.ClickException(f"{report_file}: a report is a JSON object")
    try:
        result = get_algorithm(algorithm or DEFAULT_ALGORITHM).generate(report)
    except UnknownAlgorithm as error:
        raise click.BadParameter(str(error), param_hint="--algorithm") from None

    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    click.echo(result.signature)
    click.echo(f"  algorithm {result.algorithm}  hash {result.hash}")
    for entry in result.explanation:
        click.echo(_explain(entry))


def _explain(entry: dict[str, Any]) -> str:
    """One line per decision: ``+`` counted, ``-`` skipped."""
    mark = "+" if entry.get("contributes") else "-"
    kind = entry["kind"]
    if kind == "frame":
        rule = f"  [{entry['rule']}: {entry['pattern']}]" if entry.get("rule") else ""
        return f"  {mark} #{entry['index']:<3} {entry['name']}  — {entry['hint']}{rule}"
    if kind == "stack":
        return f"  stack {entry['path']} ({entry['frames']} frames): {entry['hint']}"
    if kind == "exception_type":
        return f"  {mark} type {entry['value']}  — {entry['hint']}"
    if kind == "fingerprint":
        return f"  {mark} fingerprint {entry['value']}  — {entry['hint']} (default: {entry['default']})"
    if kind == "rest":
        return f"  - {entry['frames']} more frames  — {entry['hint']}"
    return f"  {entry}"
