"""The ``crashsvc`` command: administration of apps, users, tokens, symbols, and running the service."""

from __future__ import annotations

import importlib

import click

from crashsvc.cli.admin import apps, tokens, users
from crashsvc.cli.runtime import config_cmd, db, serve, worker

# Feature commands that live beside their features; listed here so `crashsvc --help` is the map.
FEATURE_COMMANDS = [
    ("crashsvc.cli.scrub", "scrub"),
    ("crashsvc.cli.signature", "signature"),
    ("crashsvc.cli.purge", "purge"),
    ("crashsvc.cli.purge", "reports"),
    ("crashsvc.cli.purge", "groups"),
    ("crashsvc.cli.purge", "audit"),
    ("crashsvc.cli.signatures", "signatures"),
    ("crashsvc.cli.symbols", "symbols"),
    ("crashsvc.cli.reprocess", "reprocess"),
    ("crashsvc.cli.failed", "failed"),
]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """crashsvc: opt-in, anonymized crash reports."""


for command in (apps, users, tokens, db, serve, worker, config_cmd):
    main.add_command(command)

for module_name, attribute in FEATURE_COMMANDS:
    try:
        main.add_command(getattr(importlib.import_module(module_name), attribute))
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise
