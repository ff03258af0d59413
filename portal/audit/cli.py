"""``flask --app portal audit verify``: check the whole trail for tampering."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from portal.audit.operations import verify_chain

audit_cli = AppGroup("audit", help="Check the audit trail.")


@audit_cli.command("verify")
def verify_command():
    """Walk the audit trail and report the first event whose chain is broken."""
    report = verify_chain()
    if report.intact:
        click.echo(f"Audit trail intact: {report.checked} events checked.")
        return
    click.echo(
        f"Audit trail BROKEN at event {report.broken_at}: {report.reason}. "
        f"{report.checked} events before it are intact.",
        err=True,
    )
    sys.exit(1)
