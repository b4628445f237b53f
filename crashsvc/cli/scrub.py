"""``crashsvc scrub --explain FILE``: show what the anonymizer would remove or change, and why.

Prints rule, field path and action for every change, never a removed value, and stores nothing:
the install hash is computed with a throw-away in-memory key, not the server's key ring.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click


@click.command("scrub")
@click.option(
    "--explain",
    "report_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A native report (JSON) on disk to explain.",
)
@click.option(
    "--app-id", type=int, default=None, help="Apply this app's rules (config/scrubbing/apps/<id>.json)."
)
@click.option(
    "--config-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Scrubbing config directory; defaults to the project's config/scrubbing.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
def scrub(report_file: Path, app_id: int | None, config_dir: Path | None, as_json: bool) -> None:
    """Explain, without storing anything, what anonymizing a report would remove or change."""
    # Imported here so that `crashsvc --help` does not compile every detector.
    from workers.anonymize import MemoryHashKeyRing, RulesError, anonymize, load_rules

    try:
        report = json.loads(report_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.ClickException(
            f"{report_file}: not a readable JSON report ({exc.__class__.__name__})"
        ) from None
    if not isinstance(report, dict):
        raise click.ClickException(f"{report_file}: a native report is a JSON object")
    try:
        rules = load_rules(app_id, config_dir)
    except RulesError as exc:
        raise click.ClickException(str(exc)) from None
    result = anonymize(report, rules, MemoryHashKeyRing(), datetime.now(UTC))
    changes = sorted(
        (
            {"rule": note.rule, "path": note.path, "action": note.detail, "count": note.count}
            for note in result.notes
        ),
        key=lambda change: (change["path"], change["rule"]),
    )
    if as_json:
        click.echo(
            json.dumps(
                {
                    "file": str(report_file),
                    "scrub_version": result.scrub_version,
                    "install_hash": "would be set" if result.install_hash else "none",
                    "changes": changes,
                },
                indent=2,
            )
        )
        return
    click.echo(f"{report_file}: {len(changes)} change(s) under {result.scrub_version}; nothing was stored.")
    width = max((len(change["path"]) for change in changes), default=4)
    for change in changes:
        count = f" x{change['count']}" if change["count"] > 1 else ""
        click.echo(f"  {change['path']:<{width}}  {change['action']:<11}  {change['rule']}{count}")
    click.echo(
        f"install_hash: {'would be set (keyed hash of the install id)' if result.install_hash else 'none'}"
    )
