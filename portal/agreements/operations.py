"""Recording, changing, signing and revoking information-sharing agreements."""

from __future__ import annotations

from datetime import date

from portal.agencies.models import Agency, Area
from portal.agreements.models import Agreement, AgreementParty, AgreementStatus
from portal.agreements.sharing import london_today
from portal.audit.operations import record
from portal.core.changes import apply_changes
from portal.core.codes import (
    ControllerArrangement,
    DataCategory,
    LawfulBasis,
    SpecialCategoryCondition,
)
from portal.core.db import utcnow
from portal.core.rules import WHOLE_RECORD, RuleError
from portal.extensions import db

MIN_RETENTION_MONTHS = 1
MAX_RETENTION_MONTHS = 120

#: Terms the signatories agreed to: once anyone has signed they cannot change.
SIGNED_TERMS = (
    "controllers",
    "lawful_basis",
    "special_category_condition",
    "categories",
    "retention_months",
    "starts_on",
    "review_on",
    "ends_on",
)

SIGNED_MESSAGE = (
    "This agreement has been signed, so its parties, dates, data and lawful basis cannot change: "
    "revoke it and record a new agreement instead"
)


class AgreementError(RuleError):
    """A change to an agreement that the rules do not allow."""


def _raise_first(problems: list[tuple[str, str]]) -> None:
    if problems:
        field, message = problems[0]
        raise AgreementError(field, message, problems)


def _distinct(agencies: list[Agency]) -> list[Agency]:
    seen: dict[int, Agency] = {}
    for agency in agencies:
        seen.setdefault(agency.id, agency)
    return list(seen.values())


def _problems(
    *,
    area_id: int,
    title: str,
    purpose: str,
    lawful_basis: LawfulBasis | None,
    controllers: ControllerArrangement | None,
    special_category_condition: SpecialCategoryCondition | None,
    categories: set[DataCategory],
    retention_months: int | None,
    starts_on: date | None,
    review_on: date | None,
    ends_on: date | None,
    party_agencies: list[Agency],
    existing_party_ids: frozenset[int] = frozenset(),
) -> list[tuple[str, str]]:
    problems = []
    if not (title or "").strip():
        problems.append(("title", "Enter a title for the agreement"))
    if not (purpose or "").strip():
        problems.append(("purpose", "Enter the purpose of sharing: why it is necessary"))
    if controllers is None:
        problems.append(("controllers", "Select whether the parties are joint or separate controllers"))
    if lawful_basis is None:
        problems.append(("lawful_basis", "Select the Article 6 lawful basis"))
    if DataCategory.PERSONAL_SAFEGUARDING in categories and special_category_condition is None:
        problems.append((
            "special_category_condition",
            "Select the Article 9 condition: personal safeguarding data includes health information, "
            "which is special category data",
        ))
    if not categories:
        problems.append(("categories", "Select at least one category of data the agreement covers"))
    if retention_months is None:
        problems.append(("retention_months", "Enter how many months each party keeps shared data"))
    elif not MIN_RETENTION_MONTHS <= retention_months <= MAX_RETENTION_MONTHS:
        problems.append((
            "retention_months",
            f"The retention period must be between {MIN_RETENTION_MONTHS} and {MAX_RETENTION_MONTHS} months",
        ))
    problems += _date_problems(starts_on, review_on, ends_on)
    problems += _party_problems(area_id, party_agencies, existing_party_ids)
    return problems


def _date_problems(starts_on: date | None, review_on: date | None, ends_on: date | None) -> list[tuple[str, str]]:
    problems = []
    for field, value, what in (("starts_on", starts_on, "start"), ("review_on", review_on, "review"), ("ends_on", ends_on, "end")):
        if value is None:
            problems.append((field, f"Enter the {what} date"))
    if starts_on and ends_on and ends_on <= starts_on:
        problems.append(("ends_on", "The end date must be after the start date"))
    elif starts_on and ends_on and review_on and not starts_on < review_on <= ends_on:
        problems.append(("review_on", "The review date must be after the start date and no later than the end date"))
    return problems


def _area_id(agency: Agency) -> int | None:
    if agency.area_id is None and agency.area is not None:
        return agency.area.id
    return agency.area_id


def _party_problems(area_id: int, party_agencies: list[Agency], existing_party_ids: frozenset[int]) -> list[tuple[str, str]]:
    parties = _distinct(party_agencies)
    if len(parties) < 2:
        return [("parties", "Select at least two agencies: an agreement is between two or more parties")]
    outside = [agency.name for agency in parties if _area_id(agency) != area_id]
    if outside:
        return [("parties", f"Every party must be an agency in this partnership's area: {', '.join(outside)} is not")]
    inactive = [agency.name for agency in parties if not agency.active and agency.id not in existing_party_ids]
    if inactive:
        return [("parties", f"{', '.join(inactive)} is inactive, so it cannot become a party")]
    return []


def create_agreement(
    *,
    area: Area,
    title: str,
    purpose: str,
    controllers: ControllerArrangement,
    lawful_basis: LawfulBasis,
    special_category_condition: SpecialCategoryCondition | None,
    categories: set[DataCategory],
    retention_months: int,
    starts_on: date,
    review_on: date,
    ends_on: date,
    party_agencies: list[Agency],
) -> Agreement:
    """Record a draft agreement between agencies of one area; it comes into force once all sign."""
    categories = set(categories or ())
    _raise_first(_problems(
        area_id=area.id, title=title, purpose=purpose, controllers=controllers, lawful_basis=lawful_basis,
        special_category_condition=special_category_condition, categories=categories,
        retention_months=retention_months, starts_on=starts_on, review_on=review_on, ends_on=ends_on,
        party_agencies=party_agencies,
    ))
    parties = _distinct(party_agencies)
    agreement = Agreement(
        area_id=area.id, title=title.strip(), purpose=purpose.strip(), controllers=controllers,
        lawful_basis=lawful_basis, special_category_condition=special_category_condition,
        retention_months=retention_months, starts_on=starts_on, review_on=review_on, ends_on=ends_on,
        parties=[AgreementParty(agency=agency) for agency in parties],
    )
    agreement.categories = categories
    db.session.add(agreement)
    record(
        "agreement.create",
        f"Agreement {agreement.title} recorded between {', '.join(a.name for a in parties)}",
        target=agreement,
        details={
            "party_agency_ids": sorted(a.id for a in parties), "categories": categories,
            "controllers": controllers, "lawful_basis": lawful_basis,
            "special_category_condition": special_category_condition, "retention_months": retention_months,
            "starts_on": starts_on, "review_on": review_on, "ends_on": ends_on,
        },
    )
    return agreement


def _long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def _refuse_if_closed(agreement: Agreement, field: str, doing: str) -> None:
    status = agreement.status_on(london_today())
    if status is AgreementStatus.REVOKED:
        raise AgreementError(field, f"This agreement has been revoked, so it cannot be {doing}")
    if status is AgreementStatus.EXPIRED:
        raise AgreementError(field, f"This agreement expired on {_long_date(agreement.ends_on)}, so it cannot be {doing}")


def update_agreement(
    agreement: Agreement,
    *,
    title: str,
    purpose: str,
    controllers: ControllerArrangement,
    lawful_basis: LawfulBasis,
    special_category_condition: SpecialCategoryCondition | None,
    categories: set[DataCategory],
    retention_months: int,
    starts_on: date,
    review_on: date,
    ends_on: date,
    party_agencies: list[Agency],
) -> None:
    """Change an agreement; once anyone has signed, only its title and purpose wording may change."""
    _refuse_if_closed(agreement, WHOLE_RECORD, "changed")
    categories = set(categories or ())
    current_ids = {party.agency_id for party in agreement.parties}
    _raise_first(_problems(
        area_id=agreement.area_id, title=title, purpose=purpose, controllers=controllers,
        lawful_basis=lawful_basis, special_category_condition=special_category_condition,
        categories=categories, retention_months=retention_months, starts_on=starts_on,
        review_on=review_on, ends_on=ends_on, party_agencies=party_agencies,
        existing_party_ids=frozenset(current_ids),
    ))
    wanted = {agency.id: agency for agency in _distinct(party_agencies)}
    added = [agency for agency_id, agency in wanted.items() if agency_id not in current_ids]
    removed = [party for party in agreement.parties if party.agency_id not in wanted]
    terms = {
        "controllers": controllers, "lawful_basis": lawful_basis,
        "special_category_condition": special_category_condition, "categories": categories,
        "retention_months": retention_months, "starts_on": starts_on, "review_on": review_on, "ends_on": ends_on,
    }
    if any(party.signed_on for party in agreement.parties):
        if added or removed or any(getattr(agreement, name) != terms[name] for name in SIGNED_TERMS):
            raise AgreementError("parties", SIGNED_MESSAGE)

    changed = apply_changes(agreement, title=title.strip(), purpose=purpose.strip(), **terms)
    for party in removed:
        agreement.parties.remove(party)
    for agency in added:
        agreement.parties.append(AgreementParty(agency=agency))
    if added or removed:
        changed["parties"] = {
            "added": sorted(agency.id for agency in added),
            "removed": sorted(party.agency_id for party in removed),
        }
    if changed:
        # Parties and categories live in other tables: touch the row so its version moves on.
        agreement.updated_at = utcnow()
        record("agreement.update", f"Agreement {agreement.title} changed", target=agreement, details={"changed": changed})


def sign_for_party(party: AgreementParty, *, signatory_name: str, signatory_job_title: str, signed_on: date) -> None:
    """Record who signed for one party and when; the agreement is in force once every party has."""
    agreement = party.agreement
    _refuse_if_closed(agreement, WHOLE_RECORD, "signed")
    if party.signed_on is not None:
        raise AgreementError(WHOLE_RECORD, f"{party.agency.name} has already signed this agreement")
    problems = []
    if not (signatory_name or "").strip():
        problems.append(("signatory_name", "Enter the name of the person who signed"))
    if not (signatory_job_title or "").strip():
        problems.append(("signatory_job_title", "Enter the job title of the person who signed"))
    if signed_on is None:
        problems.append(("signed_on", "Enter the date it was signed"))
    elif signed_on > london_today():
        problems.append(("signed_on", "The date signed must be today or in the past"))
    _raise_first(problems)

    party.signatory_name = signatory_name.strip()
    party.signatory_job_title = signatory_job_title.strip()
    party.signed_on = signed_on
    agreement.updated_at = utcnow()
    record(
        "agreement.sign",
        f"{party.signatory_name} signed agreement {agreement.title} for {party.agency.name}",
        target=agreement,
        details={
            "party_id": party.id, "agency_id": party.agency_id, "signatory_name": party.signatory_name,
            "signatory_job_title": party.signatory_job_title, "signed_on": signed_on,
            "fully_signed": agreement.fully_signed,
        },
    )


def revoke_agreement(agreement: Agreement, *, reason: str, by_user) -> None:
    """Withdraw an agreement: from today it no longer lets its parties share data."""
    status = agreement.status_on(london_today())
    if status is AgreementStatus.REVOKED or agreement.revoked_at is not None:
        raise AgreementError("reason", "This agreement has already been revoked")
    if status is AgreementStatus.EXPIRED:
        raise AgreementError("reason", "This agreement has already expired, so there is nothing to revoke")
    if not (reason or "").strip():
        raise AgreementError("reason", "Enter why the agreement is being revoked")
    agreement.revoked_at = utcnow()
    agreement.revoked_reason = reason.strip()
    agreement.revoked_by_id = by_user.id if by_user is not None else None
    record(
        "agreement.revoke",
        f"Agreement {agreement.title} revoked",
        target=agreement,
        actor=by_user,
        details={"reason": agreement.revoked_reason, "status_before": status},
    )
