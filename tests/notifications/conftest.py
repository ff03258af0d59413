"""A real SMTP server (aiosmtpd, in this process) that can also refuse, and a small partnership."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller

from portal.concerns import operations
from portal.core.codes import AbuseType, AgencyKind, Role


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """Keeps each message it accepts; ``refuse`` maps an address to the reply its RCPT gets."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.refuse: dict[str, str] = {}
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.refuse.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def clear(self) -> None:
        self.messages.clear()
        self.refuse.clear()


@pytest.fixture(scope="module")
def _smtp_controller():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, mailbox
    controller.stop()


@pytest.fixture
def smtp(app, _smtp_controller):
    """Point the portal at the real SMTP server for this test."""
    controller, mailbox = _smtp_controller
    mailbox.clear()
    with configured(app, MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port):
        yield mailbox
    mailbox.clear()


@contextmanager
def configured(app, **settings):
    previous = {key: app.config.get(key) for key in settings}
    app.config.update(settings)
    try:
        yield
    finally:
        app.config.update(previous)


def body_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


@dataclass
class Partnership:
    council: object
    provider: object
    service: object
    lead: object
    second_lead: object
    staff: object
    commissioner: object
    concerns: list = field(default_factory=list)


@pytest.fixture
def world(db_session, area, make_agency, make_service, make_user, make_commissioning) -> Partnership:
    council = make_agency(AgencyKind.LOCAL_AUTHORITY, name="Pipeline council")
    icb = make_agency(AgencyKind.NHS_ICB, name="Pipeline ICB")
    provider = make_agency(AgencyKind.CARE_PROVIDER, name="Pipeline provider")
    service = make_service(provider)
    make_commissioning(service, icb)
    return Partnership(
        council=council, provider=provider, service=service,
        lead=make_user(Role.SAFEGUARDING_LEAD, agency=council, email="lead@pipeline.example", name="Lee Lead"),
        second_lead=make_user(Role.SAFEGUARDING_LEAD, agency=council, email="second@pipeline.example", name="Sam Second"),
        staff=make_user(Role.PROVIDER_STAFF, agency=provider, email="staff@pipeline.example", name="Pat Staff"),
        commissioner=make_user(Role.COMMISSIONER, agency=icb, email="commissioner@pipeline.example", name="Cal Commissioner"),
    )


@pytest.fixture
def raise_one(db_session, area, world):
    """Raise a concern as the provider's staff member (not committed: the test decides)."""

    def make(**fields):
        staff = world.staff
        staff.membership = staff.active_memberships[0]
        values = {"what_happened": "Medication missed twice", "abuse_types": {AbuseType.NEGLECT}}
        values.update(fields)
        concern = operations.raise_concern(area=area, raised_by=staff, service=world.service, **values)
        world.concerns.append(concern)
        return concern

    return make
