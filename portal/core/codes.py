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
    # Designated safeguarding leads in the police and NHS trusts raise concerns for their agency;
    # only the local authority's leads triage and work on them.
    Role.SAFEGUARDING_LEAD: frozenset({AgencyKind.LOCAL_AUTHORITY, AgencyKind.POLICE, AgencyKind.NHS_TRUST}),
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


# Concerns: Care Act 2014 statutory guidance 14.17 and the Safeguarding Adults Collection (SAC) -----


class AbuseType(LabelledEnum):
    """Types of abuse and neglect (SAC SG2a: the Care Act 14.17 list plus sexual exploitation)."""

    PHYSICAL = "Physical Abuse"
    SEXUAL = "Sexual Abuse"
    PSYCHOLOGICAL = "Psychological Abuse"
    FINANCIAL = "Financial or Material Abuse"
    DISCRIMINATORY = "Discriminatory Abuse"
    ORGANISATIONAL = "Organisational Abuse"
    NEGLECT = "Neglect and Acts of Omission"
    DOMESTIC = "Domestic Abuse"
    SEXUAL_EXPLOITATION = "Sexual Exploitation"
    MODERN_SLAVERY = "Modern Slavery"
    SELF_NEGLECT = "Self-Neglect"


class RiskLocation(LabelledEnum):
    """Location of risk (SAC SG2b)."""

    OWN_HOME = "Own Home"
    COMMUNITY = "In the Community"
    COMMUNITY_SERVICE = "Community Service"
    CARE_HOME_NURSING = "Care Home - Nursing"
    CARE_HOME_RESIDENTIAL = "Care Home - Residential"
    HOSPITAL_ACUTE = "Hospital - Acute"
    HOSPITAL_MENTAL_HEALTH = "Hospital - Mental Health"
    HOSPITAL_COMMUNITY = "Hospital - Community"
    OTHER = "Other"


class RiskSource(LabelledEnum):
    """Source of risk (SAC SG2b). Council, NHS trust and GP staff count as Other, not Service Provider."""

    SERVICE_PROVIDER = "Service Provider"
    KNOWN = "Other - Known to individual"
    UNKNOWN = "Other - Unknown to individual"


class ActionResult(LabelledEnum):
    """Action and result of a concluded enquiry (SAC SG2c)."""

    RISK_ACTION = "Risk identified and action taken"
    RISK_NO_ACTION = "Risk identified and no action taken"
    INCONCLUSIVE_ACTION = "Risk Assessment inconclusive and action taken"
    INCONCLUSIVE_NO_ACTION = "Risk Assessment inconclusive and no action taken"
    NO_RISK_ACTION = "No risk identified and action taken"
    NO_RISK_NO_ACTION = "No risk identified and no action taken"
    CEASED = "Enquiry ceased at individual's request and no action taken"


class RiskOutcome(LabelledEnum):
    """Risk outcome (SAC SG2e)."""

    REMOVED = "Risk removed"
    REDUCED = "Risk reduced"
    REMAINED = "Risk remained"


class MentalCapacity(LabelledEnum):
    """Did the adult lack capacity to make decisions about the safeguarding enquiry? (SAC SG3a)."""

    LACKED = "Yes, they lacked capacity"
    NOT_LACKED = "No, they did not lack capacity"
    DONT_KNOW = "Don't know"
    NOT_RECORDED = "Not recorded"


class MspAsked(LabelledEnum):
    """Was the adult (or their representative) asked what outcomes they wanted? (SAC SG4a)."""

    ASKED_EXPRESSED = "Yes they were asked and outcomes were expressed"
    ASKED_NOT_EXPRESSED = "Yes they were asked but no outcomes were expressed"
    NO = "No"
    DONT_KNOW = "Don't Know"
    NOT_RECORDED = "Not Recorded"


class OutcomesAchieved(LabelledEnum):
    """Were the desired outcomes achieved? (SAC SG4a)."""

    FULLY = "Fully Achieved"
    PARTIALLY = "Partially Achieved"
    NOT = "Not Achieved"


class PrimarySupportReason(LabelledEnum):
    """Primary support reason (SAC SG1 breakdown)."""

    PHYSICAL = "Physical Support"
    SENSORY = "Sensory Support"
    MEMORY_COGNITION = "Support with Memory and Cognition"
    LEARNING_DISABILITY = "Learning Disability Support"
    MENTAL_HEALTH = "Mental Health Support"
    SOCIAL = "Social Support"
    NONE = "No Support Reason"
    NOT_KNOWN = "Not Known"


class Sex(LabelledEnum):
    """Sex as the SAC breakdowns count it."""

    MALE = "Male"
    FEMALE = "Female"
    NOT_KNOWN = "Not Known"


class RAG(LabelledEnum):
    RED = "Red: immediate risk of serious harm"
    AMBER = "Amber: risk of harm that needs action soon"
    GREEN = "Green: no immediate risk"


class ConsentToShare(LabelledEnum):
    """Did the adult agree to their information being shared with partner agencies?"""

    GIVEN = "Consent given"
    REFUSED = "Consent refused"
    NOT_POSSIBLE = "Not possible: the adult lacks capacity to decide"


class OverrideReason(LabelledEnum):
    """Why a refusal of consent to share was overridden."""

    RISK_TO_OTHERS = "Risk to other people"
    SERIOUS_CRIME = "A serious crime has been or may be committed"
    VITAL_INTERESTS = "To protect the adult's vital interests"
    COERCION = "Coercion or undue influence is suspected"
    LEGAL_DUTY = "A legal duty or court order requires it"
    PUBLIC_INTEREST = "Public interest"


class TriageDecision(LabelledEnum):
    S42_ENQUIRY = "Section 42 enquiry"
    OTHER_ENQUIRY = "Other safeguarding enquiry"
    QUALITY_CONCERN = "Quality concern for the provider"
    NO_FURTHER_ACTION = "No further action"
    SIGNPOSTED = "Signposted elsewhere"

    @property
    def needs_reason(self) -> bool:
        return self in {TriageDecision.NO_FURTHER_ACTION, TriageDecision.SIGNPOSTED}


class ConcernStatus(LabelledEnum):
    SUBMITTED = "Submitted"
    TRIAGED = "Triaged"
    IN_PROGRESS = "In progress"
    CLOSED = "Closed"


class RaisedVia(LabelledEnum):
    PROVIDER = "A care provider"
    PARTNER = "A partner agency"
    PUBLIC = "A member of the public"


# Provider intelligence: the regulator's five key questions and ratings, and our own sources -----


class KeyQuestion(LabelledEnum):
    """The five key questions a service is inspected and rated on."""

    SAFE = "Safe"
    EFFECTIVE = "Effective"
    CARING = "Caring"
    RESPONSIVE = "Responsive"
    WELL_LED = "Well-led"

    @property
    def bit(self) -> int:
        """This question's bit in a set of key questions stored as one integer."""
        return 1 << list(KeyQuestion).index(self)

    @classmethod
    def to_bits(cls, questions) -> int:
        bits = 0
        for question in questions:
            bits |= question.bit
        return bits

    @classmethod
    def from_bits(cls, bits: int) -> list[KeyQuestion]:
        return [question for question in cls if bits & question.bit]


class Rating(LabelledEnum):
    """Inspection ratings as the regulator publishes them (its files' exact wording)."""

    OUTSTANDING = "Outstanding"
    GOOD = "Good"
    REQUIRES_IMPROVEMENT = "Requires improvement"
    INADEQUATE = "Inadequate"
    NOT_RATED = "Not rated"
    INSUFFICIENT_EVIDENCE = "Insufficient evidence to rate"

    @property
    def rank(self) -> int | None:
        """4 for Outstanding down to 1 for Inadequate; None where there is no rating to compare."""
        return {Rating.OUTSTANDING: 4, Rating.GOOD: 3, Rating.REQUIRES_IMPROVEMENT: 2, Rating.INADEQUATE: 1}.get(self)

    @classmethod
    def from_label(cls, text: str) -> Rating | None:
        """The rating a published file means by ``text`` (case and spacing forgiven), or None."""
        wanted = " ".join(text.split()).casefold()
        return next((rating for rating in cls if rating.value.casefold() == wanted), None)
