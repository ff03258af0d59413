"""Inviting a person: the email a real SMTP server receives, the link in it, and setting a password."""

from __future__ import annotations

import email
import email.policy
import html
import re
import socket
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
import time_machine
from aiosmtpd.controller import Controller
from itsdangerous import URLSafeTimedSerializer

from portal.audit.models import AuditEvent
from portal.core.codes import AgencyKind, Role
from portal.core.db import utcnow
from portal.people.models import Invitation, Membership, User
from portal.people.operations import INVITATION_SALT

NEW_PASSWORD = "violet tractor harbour"
LINK = re.compile(r"https?://[^\s\"'<>]+/invitation/[^\s\"'<>]+")
INVALID_LINK = "This invitation link cannot be used"


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


# A real SMTP server ----------------------------------------------------------------------------


class MailCollector:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server, session, envelope):
        self.recipients.append(list(envelope.rcpt_tos))
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def smtp_server():
    collector = MailCollector()
    controller = Controller(collector, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller, collector
    finally:
        controller.stop()


@pytest.fixture
def mailbox(app, smtp_server):
    """Point the portal at the SMTP server, with tasks run eagerly, and give its inbox."""
    controller, collector = smtp_server
    collector.messages.clear()
    collector.recipients.clear()
    celery = app.extensions["celery"]
    mail_settings = {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": controller.port,
        "MAIL_USE_TLS": False,
        "MAIL_USE_SSL": False,
        "MAIL_USERNAME": None,
    }
    saved_mail = {key: app.config.get(key) for key in mail_settings}
    saved_eager = celery.conf.task_always_eager
    app.config.update(mail_settings)
    celery.conf.task_always_eager = True
    try:
        yield collector
    finally:
        app.config.update(saved_mail)
        celery.conf.task_always_eager = saved_eager


def _body(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def _html_body(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def _link_in(message) -> str:
    links = set(LINK.findall(_body(message)))
    assert len(links) == 1, links
    return links.pop()


def _path(link: str) -> str:
    return urlsplit(link).path


def _actions(db_session, target: User) -> list[str]:
    return list(
        db_session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.object_type == "User", AuditEvent.object_id == str(target.id))
            .order_by(AuditEvent.seq)
        )
    )


def _user(db_session, email_address: str) -> User | None:
    return db_session.scalar(sa.select(User).where(User.email == email_address))


def _count(db_session, model) -> int:
    return db_session.scalar(sa.select(sa.func.count()).select_from(model))


def _invite(client, agency, **overrides):
    data = {
        "name": "Priya Shah",
        "email": "priya.shah@sunrise.example.org",
        "job_title": "Care Assistant",
        "agency": str(agency.id),
        "role": "PROVIDER_STAFF",
    }
    data.update(overrides)
    return client.post("/admin/people/invite", data=data)


@pytest.fixture
def invited(as_admin, provider, mailbox, db_session):
    """Priya invited through the page; her email has arrived."""
    response = _invite(as_admin, provider)
    assert response.status_code == 302, text_of(response)
    person = _user(db_session, "priya.shah@sunrise.example.org")
    assert len(mailbox.messages) == 1
    return person, _link_in(mailbox.messages[0]), response


def _set_password(client, link, password=NEW_PASSWORD, confirm=None):
    return client.post(
        _path(link), data={"new_password": password, "confirm_password": password if confirm is None else confirm}
    )


# Inviting ------------------------------------------------------------------------------------


def test_admin_invites_a_person_and_lands_on_their_page(invited, db_session, provider):
    person, _, response = invited
    assert response.headers["Location"].endswith(f"/admin/people/{person.id}")
    assert person.name == "Priya Shah"
    assert person.job_title == "Care Assistant"
    assert person.password_hash is None
    membership = db_session.scalar(sa.select(Membership).where(Membership.user_id == person.id))
    assert (membership.agency_id, membership.role, membership.active) == (provider.id, Role.PROVIDER_STAFF, True)
    invitation = db_session.scalar(sa.select(Invitation).where(Invitation.user_id == person.id))
    assert invitation is not None and invitation.is_usable()


def test_invited_person_page_says_the_invitation_was_sent(invited, client):
    person, _, response = invited
    page = text_of(client.get(response.headers["Location"]))
    assert "Invitation sent to priya.shah@sunrise.example.org. The link works for 72 hours." in page
    assert "Not yet: invited" in page


def test_exactly_one_invitation_email_arrives_addressed_to_the_person(invited, mailbox):
    _, link, _ = invited
    assert mailbox.recipients == [["priya.shah@sunrise.example.org"]]
    message = mailbox.messages[0]
    assert message["To"] == "priya.shah@sunrise.example.org"
    assert "invited" in message["Subject"]
    assert "/invitation/" in link
    assert link in _html_body(message)


def test_invitation_email_holds_only_the_link_and_names(invited, mailbox, provider):
    _, link, _ = invited
    message = mailbox.messages[0]
    for body in (_body(message), _html_body(message)):
        assert "Priya Shah" in body
        assert "Safeguarding partnership portal" in body
        for detail in (
            "Sunrise Care",
            provider.name,
            "Provider staff",
            "Care Assistant",
            "Alex Admin",
            "admin@testshire",
        ):
            assert detail not in body
    text = _body(message)
    for line in text.splitlines():
        assert "://" not in line or line.strip() == link


def test_following_the_link_asks_the_person_to_set_a_password(invited, signed_out):
    _, link, _ = invited
    page = signed_out().get(_path(link))
    assert page.status_code == 200
    assert "Set your password" in text_of(page)
    assert "priya.shah@sunrise.example.org" in text_of(page)


def test_person_who_sets_a_password_can_then_sign_in_with_it(invited, signed_out, sign_in, db_session):
    person, link, _ = invited
    client = signed_out()
    response = _set_password(client, link)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/sign-in")
    assert "Your password is set. Sign in to continue." in text_of(client.get("/sign-in"))

    response = sign_in("priya.shah@sunrise.example.org", NEW_PASSWORD, follow_redirects=True)
    assert response.status_code == 200
    assert "Provider staff" in text_of(response)
    assert db_session.get(User, person.id).last_signed_in_at is not None


def test_link_cannot_be_used_a_second_time(invited, signed_out):
    _, link, _ = invited
    client = signed_out()
    _set_password(client, link)
    again = client.get(_path(link))
    assert again.status_code == 404
    assert INVALID_LINK in text_of(again)
    reuse = _set_password(client, link, "another fine password")
    assert reuse.status_code == 404


def test_link_still_works_just_before_72_hours(invited, signed_out):
    _, link, _ = invited
    with time_machine.travel(utcnow() + timedelta(hours=71, minutes=50), tick=False):
        page = signed_out().get(_path(link))
    assert page.status_code == 200
    assert "Set your password" in text_of(page)


def test_link_is_refused_after_73_hours(invited, signed_out, db_session):
    person, link, _ = invited
    with time_machine.travel(utcnow() + timedelta(hours=73), tick=False):
        client = signed_out()
        page = client.get(_path(link))
        refused = _set_password(client, link)
    assert page.status_code == 404
    assert INVALID_LINK in text_of(page)
    assert refused.status_code == 404
    assert db_session.get(User, person.id).password_hash is None


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda token, invitation: ("B" if token[0] != "B" else "C") + token[1:], id="changed-character"),
        pytest.param(lambda token, invitation: token[:-4], id="cut-short"),
        pytest.param(
            lambda token, invitation: URLSafeTimedSerializer("not the portal key", salt=INVITATION_SALT).dumps(
                {"i": invitation.id, "n": invitation.nonce}
            ),
            id="signed-with-another-key",
        ),
    ],
)
def test_tampered_link_is_refused(invited, signed_out, db_session, tamper):
    person, link, _ = invited
    invitation = db_session.scalar(sa.select(Invitation).where(Invitation.user_id == person.id))
    token = _path(link).rsplit("/", 1)[1]
    client = signed_out()
    page = client.get(f"/invitation/{tamper(token, invitation)}")
    assert page.status_code == 404
    assert INVALID_LINK in text_of(page)
    assert _set_password(client, f"/invitation/{tamper(token, invitation)}").status_code == 404
    assert db_session.get(User, person.id).password_hash is None


def test_a_new_invitation_makes_the_old_link_stop_working(invited, as_admin, mailbox, signed_out):
    person, old_link, _ = invited
    response = as_admin.post(f"/admin/people/{person.id}/invitation", follow_redirects=True)
    assert "A new invitation has been sent to priya.shah@sunrise.example.org. Earlier links no longer work." in text_of(
        response
    )
    assert len(mailbox.messages) == 2
    new_link = _link_in(mailbox.messages[1])
    assert new_link != old_link

    client = signed_out()
    assert client.get(_path(old_link)).status_code == 404
    assert client.get(_path(new_link)).status_code == 200


def test_link_stops_working_when_the_person_is_deactivated(invited, as_admin, signed_out):
    person, link, _ = invited
    as_admin.post(f"/admin/people/{person.id}/active", data={"active": "0"})
    page = signed_out().get(_path(link))
    assert page.status_code == 404
    assert INVALID_LINK in text_of(page)


def test_no_new_invitation_is_emailed_to_a_deactivated_person(invited, as_admin, mailbox, db_session):
    person, _, _ = invited
    as_admin.post(f"/admin/people/{person.id}/active", data={"active": "0"})
    as_admin.post(f"/admin/people/{person.id}/invitation")
    assert len(mailbox.messages) == 1


def test_email_typed_in_capitals_is_saved_and_mailed_in_lower_case(as_admin, provider, mailbox, db_session):
    response = _invite(as_admin, provider, email="  Priya.Shah@Sunrise.Example.org ")
    assert response.status_code == 302
    assert _user(db_session, "priya.shah@sunrise.example.org") is not None
    assert mailbox.recipients == [["priya.shah@sunrise.example.org"]]


# Passwords the invitation page refuses -------------------------------------------------------------


@pytest.mark.parametrize(
    "password, confirm, message",
    [
        ("short pass", "short pass", "Password must be 12 characters or more"),
        ("password1234", "password1234", "Password is too common"),
        ("violet tractor harbour", "violet tractor harbor", "Passwords must match"),
    ],
    ids=["too-short", "common", "confirmation-differs"],
)
def test_weak_or_mismatched_password_is_refused_and_the_form_shown_again(
    invited, signed_out, db_session, password, confirm, message
):
    person, link, _ = invited
    client = signed_out()
    response = _set_password(client, link, password, confirm)
    page = text_of(response)
    assert response.status_code == 200
    assert "There is a problem" in page
    assert message in page
    assert 'name="new_password"' in page and 'name="confirm_password"' in page
    # A password is not written back into the page, where it would sit in the browser's history.
    assert f'value="{password}"' not in page
    assert db_session.get(User, person.id).password_hash is None
    assert client.get(_path(link)).status_code == 200


# Invitations the form refuses ------------------------------------------------------------------


def test_email_already_in_use_in_another_case_is_refused_and_nothing_saved(
    as_admin, provider, make_user, mailbox, db_session
):
    make_user(Role.PROVIDER_STAFF, agency=provider, email="someone@example.org")
    db_session.commit()
    users, memberships, invitations = (
        _count(db_session, User),
        _count(db_session, Membership),
        _count(db_session, Invitation),
    )

    response = _invite(as_admin, provider, email="Someone@Example.org", name="Another Someone")

    page = text_of(response)
    assert response.status_code == 200
    assert "A person with this email address already has an account" in page
    assert 'value="Another Someone"' in page
    assert 'value="Someone@Example.org"' in page
    assert (_count(db_session, User), _count(db_session, Membership), _count(db_session, Invitation)) == (
        users,
        memberships,
        invitations,
    )
    assert mailbox.messages == []


def test_invalid_email_is_refused_with_its_message(as_admin, provider, mailbox, db_session):
    users = _count(db_session, User)
    response = _invite(as_admin, provider, email="priya.shah-at-sunrise")
    page = text_of(response)
    assert "Enter an email address in the correct format, like name@example.org" in page
    assert 'value="priya.shah-at-sunrise"' in page
    assert 'value="Priya Shah"' in page
    assert _count(db_session, User) == users
    assert mailbox.messages == []


def test_role_that_does_not_fit_the_agency_is_refused(as_admin, provider, mailbox, db_session):
    users = _count(db_session, User)
    response = _invite(as_admin, provider, role="SAFEGUARDING_LEAD")
    page = text_of(response)
    assert "A safeguarding lead must belong to one of these kinds of agency: local authority" in page
    assert 'value="priya.shah@sunrise.example.org"' in page
    assert _count(db_session, User) == users
    assert mailbox.messages == []


def test_inspector_at_a_care_provider_is_refused_with_a_grammatical_message(as_admin, provider, mailbox, db_session):
    users = _count(db_session, User)
    response = _invite(as_admin, provider, role="INSPECTOR")
    page = text_of(response)
    assert _count(db_session, User) == users
    assert "An inspector must belong to one of these kinds of agency: regulator" in page


def test_inspector_at_a_care_provider_is_not_invited(as_admin, provider, mailbox, db_session):
    users = _count(db_session, User)
    response = _invite(as_admin, provider, role="INSPECTOR")
    assert response.status_code == 200
    assert "must belong to one of these kinds of agency: regulator" in text_of(response)
    assert _count(db_session, User) == users
    assert mailbox.messages == []


def test_inspector_at_the_regulator_is_invited(as_admin, make_agency, mailbox, db_session):
    regulator = make_agency(AgencyKind.REGULATOR, name="Care Regulator")
    db_session.commit()
    response = _invite(as_admin, regulator, role="INSPECTOR", email="inspector@regulator.example.org")
    assert response.status_code == 302
    assert _user(db_session, "inspector@regulator.example.org") is not None
    assert len(mailbox.messages) == 1


def test_agency_of_another_area_cannot_be_chosen(as_admin, make_area, make_agency, mailbox, db_session):
    elsewhere = make_agency(AgencyKind.CARE_PROVIDER, name="Otherton Homes", area=make_area("Otherton"))
    db_session.commit()
    users = _count(db_session, User)
    response = _invite(as_admin, elsewhere)
    assert response.status_code == 200
    assert "Select one of the options" in text_of(response)
    assert "Otherton Homes" not in text_of(response)
    assert _count(db_session, User) == users
    assert mailbox.messages == []


# The audit trail -------------------------------------------------------------------------------


def test_invitation_and_acceptance_are_written_to_the_audit_trail(
    invited, as_admin, mailbox, signed_out, db_session, admin
):
    person, _, _ = invited
    as_admin.post(f"/admin/people/{person.id}/invitation")
    assert _actions(db_session, person) == ["person.invite", "person.invitation_sent", "person.invitation_sent"]
    by_admin = db_session.scalars(
        sa.select(AuditEvent.actor_id).where(AuditEvent.object_type == "User", AuditEvent.object_id == str(person.id))
    )
    assert set(by_admin) == {admin.id}

    _set_password(signed_out(), _link_in(mailbox.messages[-1]))

    assert _actions(db_session, person)[-1] == "person.invitation_accepted"
    accepted = db_session.scalar(
        sa.select(AuditEvent).where(
            AuditEvent.action == "person.invitation_accepted", AuditEvent.object_id == str(person.id)
        )
    )
    assert accepted.actor_id == person.id
