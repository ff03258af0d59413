"""``flask --app portal create-admin``: the first administrator of a new partnership."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from portal.agencies.models import Agency, Area
from portal.core.codes import AgencyKind, Role
from portal.extensions import db
from portal.people import operations


@click.command("create-admin")
@click.option("--area", "area_name", required=True, help="The partnership's area, created if new.")
@click.option("--agency", "agency_name", required=True, help="The local authority or Board the administrator works for.")
@click.option("--kind", type=click.Choice(["LOCAL_AUTHORITY", "SAB"]), default="LOCAL_AUTHORITY", show_default=True)
@click.option("--email", required=True)
@click.option("--name", required=True)
@with_appcontext
def create_admin_command(area_name, agency_name, kind, email, name):
    """Invite the first partnership administrator and print their invitation link."""
    area = db.session.scalar(sa.select(Area).where(Area.name == area_name))
    if area is None:
        area = Area(name=area_name)
        db.session.add(area)
    agency = db.session.scalar(sa.select(Agency).where(Agency.area == area, Agency.name == agency_name))
    if agency is None:
        agency = Agency(area=area, name=agency_name, kind=AgencyKind[kind])
        db.session.add(agency)
    db.session.flush()
    try:
        invitation = operations.invite_person(
            email=email, name=name, job_title=None, agency=agency, role=Role.ADMINISTRATOR, invited_by=None
        )
    except operations.PeopleError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"Invited {email}. Send them this link (it works once, for a limited time):")
    click.echo(operations.invitation_link(invitation))
