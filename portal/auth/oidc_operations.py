"""Configuring agencies' identity providers, and signing people in with what a provider vouched for."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from portal.agencies.models import Agency
from portal.audit.operations import record
from portal.auth.models import ExternalIdentity, IdentityProvider
from portal.auth.oidc import TestResult, VerifiedSignOn
from portal.core.codes import Role
from portal.core.db import utcnow
from portal.core.rules import RuleError
from portal.extensions import db
from portal.people import operations as people_operations
from portal.people.models import User, normalise_email
from portal.people.operations import role_problem

#: Fields whose change means the saved test result no longer says anything about the provider.
CONNECTION_FIELDS = ("discovery_url", "client_id", "client_secret", "scopes")


class SignOnError(RuleError):
    """A sign-on configuration the rules do not allow."""


@dataclass(frozen=True)
class ProviderSettings:
    """What an administrator sets for their agency's provider. ``client_secret`` None keeps the saved one."""

    discovery_url: str
    client_id: str
    client_secret: str | None
    scopes: str
    email_claim: str
    allowed_domains: list[str]
    local_passwords_allowed: bool
    jit_enabled: bool
    jit_role: Role | None
    enabled: bool


def provider_of(agency: Agency) -> IdentityProvider | None:
    return db.session.scalar(sa.select(IdentityProvider).where(IdentityProvider.agency_id == agency.id))


def connection_changes(provider: IdentityProvider | None, settings: ProviderSettings) -> bool:
    """Whether saving these settings would change how the portal reaches the provider."""
    if provider is None:
        return True
    return any(
        getattr(settings, name) is not None and getattr(settings, name) != getattr(provider, name)
        for name in CONNECTION_FIELDS
    )


def _check_domains(agency: Agency, domains: list[str]) -> None:
    """A domain sends people to one provider only, or home-realm discovery would have to guess."""
    others = db.session.execute(
        sa.select(IdentityProvider.allowed_domains, Agency.name)
        .join(Agency, IdentityProvider.agency_id == Agency.id)
        .where(IdentityProvider.agency_id != agency.id)
    ).all()
    for claimed, name in others:
        taken = sorted(set(domains) & set(claimed or ()))
        if taken:
            raise SignOnError("allowed_domains", f"{taken[0]} already belongs to the sign-on of {name}")


def configure_provider(
    agency: Agency, settings: ProviderSettings, *, by: User | None, test: TestResult | None = None
) -> IdentityProvider:
    """Create or change the agency's provider; the caller commits (and checks the version first).

    A changed connection forgets the last test; sign-on can only be on after a passed test, so
    ``test`` carries the result of testing these very settings when the view ran one.
    """
    _check_domains(agency, settings.allowed_domains)
    if settings.jit_enabled and settings.jit_role is None:
        raise SignOnError("jit_role", "Select the role people get when their account is created on first sign-in")
    if settings.jit_role is not None and (problem := role_problem(settings.jit_role, agency)):
        raise SignOnError("jit_role", problem)
    provider = provider_of(agency)
    is_new = provider is None
    if is_new:
        if not settings.client_secret:
            raise SignOnError("client_secret", "Enter the client secret")
        provider = IdentityProvider(agency=agency)
        db.session.add(provider)
    connection_changed = connection_changes(None if is_new else provider, settings)

    changed = {}
    for name in ("discovery_url", "client_id", "scopes", "email_claim", "allowed_domains",
                 "local_passwords_allowed", "jit_enabled", "jit_role", "enabled"):
        before, after = getattr(provider, name), getattr(settings, name)
        if before != after:
            changed[name] = [before, after]
            setattr(provider, name, after)
    if settings.client_secret and settings.client_secret != provider.client_secret:
        provider.client_secret = settings.client_secret
        changed["client_secret"] = ["(kept secret)", "(changed)"]
    provider.updated_by_id = by.id if by is not None else None

    if connection_changed:
        provider.last_tested_at, provider.last_test_ok, provider.last_test_message = None, None, None
    if test is not None:
        _apply_test(provider, test)
    if provider.enabled and provider.last_test_ok is not True:
        reason = f" The last test said: {provider.last_test_message}." if provider.last_test_message else ""
        raise SignOnError(
            "enabled", f"Sign-on cannot be turned on until the connection passes a test.{reason}"
        )
    if changed:
        record(
            "sign_on.configure" if not is_new else "sign_on.create",
            f"Sign-on for {agency.name} {'set up' if is_new else 'changed'}",
            target=provider, details={"agency_id": agency.id, "changed": changed},
        )
    return provider


def _apply_test(provider: IdentityProvider, result: TestResult) -> None:
    provider.last_tested_at = utcnow()
    provider.last_test_ok = result.ok
    provider.last_test_message = result.message
    if result.issuer is not None:
        provider.issuer = result.issuer


def record_test(provider: IdentityProvider, result: TestResult) -> None:
    """Keep the result of "Test connection", so the page shows it and enabling can rely on it."""
    _apply_test(provider, result)
    if not result.ok and provider.enabled:
        # Left on, people would meet the failure at sign-in instead of the administrator now.
        record("sign_on.test_failed_enabled", f"Sign-on for {provider.agency.name} failed its test while on",
               target=provider, details={"message": result.message})
    record(
        "sign_on.test", f"Sign-on connection for {provider.agency.name} {'passed' if result.ok else 'failed'} its test",
        target=provider, details={"ok": result.ok, "message": result.message, "issuer": result.issuer},
    )
    db.session.commit()


# Home-realm discovery ---------------------------------------------------------------------------


def email_domain(email: str) -> str:
    return normalise_email(email).rsplit("@", 1)[-1]


def provider_for_email(email: str) -> IdentityProvider | None:
    """The enabled provider whose agency owns the email's domain, if any."""
    domain = email_domain(email)
    for provider in db.session.scalars(sa.select(IdentityProvider).where(IdentityProvider.enabled)):
        if domain in (provider.allowed_domains or ()) and provider.agency.active:
            return provider
    return None


def enabled_provider(provider_id) -> IdentityProvider | None:
    if not isinstance(provider_id, int):
        return None
    provider = db.session.get(IdentityProvider, provider_id)
    return provider if provider is not None and provider.enabled and provider.agency.active else None


# Signing in -------------------------------------------------------------------------------------


class SignOnDenied(Exception):
    """The provider vouched for the person, but the portal does not let them in. ``reason`` is audited."""

    def __init__(self, reason: str, *, no_account: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.no_account = no_account


def record_refusal(reason: str, *, provider_id: int | None = None, email: str | None = None) -> None:
    """Every refused sign-on is in the audit trail, with why."""
    provider = db.session.get(IdentityProvider, provider_id) if provider_id else None
    details = {"reason": reason}
    if email:
        details["email"] = email
    record(
        "auth.sso_refused",
        f"Sign-on refused{' for ' + email if email else ''}{' through ' + provider.agency.name if provider else ''}: {reason}",
        target=provider, details=details, agency_id=provider.agency_id if provider else None,
    )
    db.session.commit()


def person_for(verified: VerifiedSignOn) -> User:
    """The person this sign-on is for, created when the agency allows it; :class:`SignOnDenied` otherwise.

    The caller then starts the session. Refusals are not yet recorded (see :func:`record_refusal`).
    """
    provider = db.session.get(IdentityProvider, verified.provider_id)
    agency = provider.agency
    user = db.session.scalar(sa.select(User).where(User.email == verified.email))
    if user is None:
        if not provider.jit_enabled or provider.jit_role is None:
            raise SignOnDenied("no account for this email", no_account=True)
        user = _create_person(provider, verified)
    elif not user.active:
        raise SignOnDenied("person deactivated", no_account=True)
    elif not any(m.agency_id == agency.id for m in user.active_memberships):
        raise SignOnDenied(f"no active role at {agency.name}", no_account=True)
    _bind_subject(provider, user, verified.subject)
    return user


def _create_person(provider: IdentityProvider, verified: VerifiedSignOn) -> User:
    agency = provider.agency
    if role_problem(provider.jit_role, agency):
        # The agency's kind changed since the default role was chosen: no account rather than a wrong one.
        raise SignOnDenied(f"default role does not fit {agency.name}", no_account=True)
    user = User(email=verified.email, name=(verified.name or verified.email.split("@", 1)[0])[:200])
    db.session.add(user)
    people_operations.add_membership(user, agency, provider.jit_role)
    db.session.flush()
    record(
        "person.created_on_sign_on",
        f"{user.email} created on first sign-in through {agency.name}'s provider, as {provider.jit_role.label}",
        target=user, actor=user, agency_id=agency.id,
        details={"agency_id": agency.id, "role": provider.jit_role, "identity_provider_id": provider.id},
    )
    return user


def _bind_subject(provider: IdentityProvider, user: User, subject: str) -> None:
    """The provider's ``sub`` belongs to one person for good: a reassigned email cannot take over."""
    bound = db.session.scalars(
        sa.select(ExternalIdentity).where(
            ExternalIdentity.identity_provider_id == provider.id,
            sa.or_(ExternalIdentity.subject == subject, ExternalIdentity.user_id == user.id),
        )
    ).all()
    if any(identity.subject == subject and identity.user_id != user.id for identity in bound):
        raise SignOnDenied("the provider's subject is bound to another person")
    if any(identity.user_id == user.id and identity.subject != subject for identity in bound):
        raise SignOnDenied("the email is bound to another subject at this provider")
    identity = next(iter(bound), None)
    if identity is None:
        identity = ExternalIdentity(identity_provider_id=provider.id, subject=subject, user_id=user.id)
        db.session.add(identity)
        record(
            "auth.sso_linked", f"{user.email} linked to their account at {provider.agency.name}'s provider",
            target=user, actor=user, agency_id=provider.agency_id, details={"subject": subject},
        )
    identity.last_signed_in_at = utcnow()


def password_sign_in_refused(user: User) -> None:
    """A right password, refused because an agency of the person's signs its people in itself."""
    record(
        "auth.sign_in_failed", f"Password sign-in refused for {user.email}: their agency uses its own sign-in",
        target=user, actor=user, details={"reason": "local passwords off"},
    )
    db.session.commit()
