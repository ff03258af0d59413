"""Code lists defined once and reused by models, forms, imports and reports.

Members are stored by name; the value is the label people read.
"""

from __future__ import annotations

import enum


class LabelledEnum(enum.Enum):
    """An enumeration whose value is the wording shown to people."""

    @property
    def label(self) -> str:
        return self.value

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """(name, label) pairs for a form's radios, checkboxes or select."""
        return [(member.name, member.value) for member in cls]

    @classmethod
    def coerce(cls, value):
        """Turn a submitted name back into a member (for WTForms ``coerce``)."""
        if isinstance(value, cls):
            return value
        return cls[value]


class AgencyKind(LabelledEnum):
    LOCAL_AUTHORITY = "Local authority"
    NHS_ICB = "NHS integrated care board"
    CARE_PROVIDER = "Care provider"
    REGULATOR = "Regulator"
    SAB = "Safeguarding Adults Board"
    POLICE = "Police"
    NHS_TRUST = "NHS trust"
    ADVOCACY = "Advocacy service"
    OTHER = "Other"


class Role(LabelledEnum):
    PROVIDER_STAFF = "Provider staff"
    PROVIDER_MANAGER = "Provider manager"
    COMMISSIONER = "Commissioner or quality officer"
    SAFEGUARDING_LEAD = "Safeguarding lead"
    INSPECTOR = "Inspector"
    SAB_MEMBER = "Safeguarding Adults Board member"
    SAB_CHAIR = "Safeguarding Adults Board chair"
    ADMINISTRATOR = "Partnership administrator"


#: Which kinds of agency a role can be held in.
ROLE_AGENCY_KINDS: dict[Role, frozenset[AgencyKind]] = {
    Role.PROVIDER_STAFF: frozenset({AgencyKind.CARE_PROVIDER}),
    Role.PROVIDER_MANAGER: frozenset({AgencyKind.CARE_PROVIDER}),
    Role.COMMISSIONER: frozenset({AgencyKind.LOCAL_AUTHORITY, AgencyKind.NHS_ICB}),
    Role.SAFEGUARDING_LEAD: frozenset({AgencyKind.LOCAL_AUTHORITY}),
    Role.INSPECTOR: frozenset({AgencyKind.REGULATOR}),
    Role.SAB_MEMBER: frozenset(AgencyKind) - {AgencyKind.CARE_PROVIDER},
    Role.SAB_CHAIR: frozenset({AgencyKind.SAB}),
    Role.ADMINISTRATOR: frozenset({AgencyKind.LOCAL_AUTHORITY, AgencyKind.SAB}),
}


class ServiceType(LabelledEnum):
    """Service types as the regulator registers them, for adult social care and community health."""

    CARE_HOME_NURSING = "Care home service with nursing"
    CARE_HOME_RESIDENTIAL = "Care home service without nursing"
    DOMICILIARY = "Domiciliary care service"
    SUPPORTED_LIVING = "Supported living service"
    EXTRA_CARE_HOUSING = "Extra care housing service"
    SHARED_LIVES = "Shared Lives"
    DAY_SERVICE = "Day service"
    COMMUNITY_HEALTH = "Community health care service"
    HOSPITAL_MENTAL_HEALTH = "Hospital services for people with mental health needs, learning disabilities and problems with substance misuse"
    OTHER = "Other"

    @property
    def is_care_home(self) -> bool:
        return self in {ServiceType.CARE_HOME_NURSING, ServiceType.CARE_HOME_RESIDENTIAL}


class DataCategory(LabelledEnum):
    """What an information-sharing agreement lets its parties share."""

    PROVIDER_INTELLIGENCE = "Provider-level intelligence"
    PERSONAL_SAFEGUARDING = "Personal safeguarding data"


class LawfulBasis(LabelledEnum):
    """UK GDPR Article 6(1) lawful bases."""

    CONSENT = "6(1)(a) consent"
    CONTRACT = "6(1)(b) contract"
    LEGAL_OBLIGATION = "6(1)(c) legal obligation"
    VITAL_INTERESTS = "6(1)(d) vital interests"
    PUBLIC_TASK = "6(1)(e) public task"
    LEGITIMATE_INTERESTS = "6(1)(f) legitimate interests"


class SpecialCategoryCondition(LabelledEnum):
    """UK GDPR Article 9(2) conditions for special category data such as health."""

    EXPLICIT_CONSENT = "9(2)(a) explicit consent"
    EMPLOYMENT_SOCIAL_PROTECTION = "9(2)(b) employment, social security and social protection law"
    VITAL_INTERESTS = "9(2)(c) vital interests"
    LEGAL_CLAIMS = "9(2)(f) legal claims"
    SUBSTANTIAL_PUBLIC_INTEREST = "9(2)(g) substantial public interest (DPA 2018 Sch 1, including safeguarding of individuals at risk)"
    HEALTH_SOCIAL_CARE = "9(2)(h) health or social care"
    PUBLIC_HEALTH = "9(2)(i) public health"


class ControllerArrangement(LabelledEnum):
    SEPARATE = "Separate controllers"
    JOINT = "Joint controllers"
