"""The administrator's form for an agency's identity provider."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from wtforms.validators import ValidationError

from portal.auth.oidc import DISCOVERY_PATH
from portal.core.codes import ROLE_AGENCY_KINDS, Role
from portal.core.forms import (
    BooleanField,
    EmailField,
    EnumSelectField,
    Form,
    PasswordField,
    SubmitField,
    TextAreaField,
    TextField,
    VersionField,
    max_length,
    required,
)

DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
CLAIM = re.compile(r"^[A-Za-z0-9_:./-]{1,100}$")
LOOPBACK_HOSTS = {"localhost"}


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _discovery_url(form, field):
    """HTTPS, or plain HTTP on this machine only (a provider run for a demonstration or a test)."""
    if not field.data:
        return
    value = field.data
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username or parts.password or parts.fragment:
        raise ValidationError("Enter the discovery URL as a full address, like https://login.example.org/.well-known/openid-configuration")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValidationError("The discovery URL must start with https://")
    if parts.query:
        raise ValidationError("Enter the discovery URL without anything after a question mark")
    if not value.endswith(DISCOVERY_PATH):
        # People often paste the issuer: its discovery document is at a fixed place under it.
        field.data = value.rstrip("/") + DISCOVERY_PATH


def _scopes(form, field):
    if field.data and "openid" not in field.data.split():
        raise ValidationError("Scopes must include openid")


def _claim(form, field):
    if field.data and not CLAIM.match(field.data):
        raise ValidationError("Enter the claim's name, like email or upn, without spaces")


def parse_domains(text: str | None) -> list[str]:
    return sorted({d.strip().lower().lstrip("@") for d in re.split(r"[\s,;]+", text or "") if d.strip()})


def _domains(form, field):
    domains = parse_domains(field.data)
    wrong = [d for d in domains if not DOMAIN.match(d)]
    if wrong:
        raise ValidationError(f"{wrong[0]} is not an email domain: enter domains like northshire.gov.uk, one a line")
    if not domains:
        raise ValidationError("Enter the email domains of this agency's people")


class SignOnForm(Form):
    discovery_url = TextField(
        "Discovery URL",
        [required("Enter the provider's discovery URL"), max_length(500, "Discovery URL"), _discovery_url],
        description="The address of the provider's OpenID Connect discovery document, ending /.well-known/openid-configuration",
    )
    client_id = TextField("Client ID", [required("Enter the client ID"), max_length(200, "Client ID")])
    client_secret = PasswordField(
        "Client secret", [max_length(500, "Client secret")],
        description="Leave blank to keep the saved secret. Once saved, it is never shown again.",
    )
    scopes = TextField(
        "Scopes", [required("Enter the scopes"), max_length(300, "Scopes"), _scopes],
        description="Separated by spaces; must include openid", default="openid email profile",
    )
    email_claim = TextField(
        "Claim that carries the email address", [required("Enter the claim that carries the email address"),
                                                 max_length(100, "Claim"), _claim],
        description="Usually email; some providers use upn or preferred_username", default="email",
    )
    allowed_domains = TextAreaField(
        "Email domains", [required("Enter the email domains of this agency's people"), max_length(2000, "Email domains"), _domains],
        description="One a line. People whose email ends with one of these are sent to this provider to sign in.",
    )
    local_passwords_allowed = BooleanField(
        "People at this agency may still sign in with a portal password", default=True,
        description="Untick to make the provider the only way in for anyone with a role at this agency.",
    )
    jit_enabled = BooleanField(
        "Create an account on first sign-in for people who do not have one yet",
        description="Otherwise only people who already have a role at this agency can sign in.",
    )
    jit_role = EnumSelectField("Role for accounts created on first sign-in", enum_class=Role)
    enabled = BooleanField(
        "Sign-on through this provider is on",
        description="It can only be turned on once the connection has passed a test.",
    )
    version = VersionField()
    submit = SubmitField("Save sign-on settings")

    def __init__(self, *args, agency=None, has_secret: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.has_secret = has_secret
        roles = [role for role in Role if agency is not None and agency.kind in ROLE_AGENCY_KINDS[role]]
        self.jit_role.choices = [("", "Select a role")] + [(role.name, role.label) for role in roles]
        if isinstance(self.allowed_domains.data, list):
            self.allowed_domains.data = "\n".join(self.allowed_domains.data)

    def validate_client_secret(self, field):
        if not field.data and not self.has_secret:
            raise ValidationError("Enter the client secret")


class TestConnectionForm(Form):
    submit = SubmitField("Test connection")


class EmailFirstForm(Form):
    """The sign-in page's first step: the email decides between the agency's provider and a password."""

    email = EmailField("Email address", [required("Enter your email address")])
    submit = SubmitField("Continue")
