"""``flask --app portal seed-demo``: load the fictional Northshire area and print its sign-ins."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.demo.seed import ACCOUNTS, DEMO_PASSWORD, EXTRA_MEMBERSHIPS, seed_demo


@click.command("seed-demo")
@with_appcontext
def seed_demo_command():
    """Load the demo area (once) and print the demo sign-ins."""
    if current_app.config["ENV_NAME"] == "production":
        raise click.ClickException("Demo data has known passwords: it cannot be loaded in production.")
    if seed_demo():
        click.echo("Demo area Northshire loaded.")
    else:
        click.echo("Demo area Northshire is already loaded: nothing changed.")
    extra = {email: (agency, role) for email, agency, role in EXTRA_MEMBERSHIPS}
    click.echo(f"\nDemo sign-ins (every password is {DEMO_PASSWORD}):")
    for account in ACCOUNTS:
        line = f"  {account.role.label:<34} {account.email:<42} {account.agency}"
        if account.email in extra:
            agency, role = extra[account.email]
            line += f" (also {role.label}, {agency})"
        click.echo(line)
