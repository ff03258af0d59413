"""Property-based fuzzing of every form the portal has: whatever is posted, the answer is never a 5xx.

Forms are discovered (every WTForms form class in ``portal``); each is posted, as a person who may
use it, on the route that handles it, with values drawn from its fields: unicode and control
characters, NUL, very long text, numbers out of range, malformed dates, wrong choices, missing and
repeated fields. A new form without a row in ``TARGETS`` fails ``test_every_form_has_a_fuzz_target``.
Examples are few and derandomised, so a run is quick and the same on every machine.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wtforms import fields as wtf_fields
from wtforms.fields.core import UnboundField
from wtforms.form import BaseForm

import portal
from tests.security import routes
from tests.security.helpers import signed_in_redirect, undone

#: Form (module:class) -> the endpoint that handles it, and the prefix its fields carry there.
TARGETS = {
    "portal.agencies.forms:AgencyForm": ("agencies.new_agency", None),
    "portal.agencies.forms:EditAgencyForm": ("agencies.edit_agency", None),
    "portal.agencies.forms:ServiceForm": ("agencies.new_service", None),
    "portal.agencies.forms:EditServiceForm": ("agencies.edit_service", None),
    "portal.agencies.forms:CommissioningForm": ("agencies.new_commissioning", None),
    "portal.agencies.forms:EndCommissioningForm": ("agencies.end_commissioning", None),
    "portal.auth.forms:SignInForm": ("auth.sign_in", None),
    "portal.auth.oidc_forms:EmailFirstForm": ("auth.sign_in", None),
    "portal.auth.forms:SecurityCodeForm": ("auth.sign_in_code", None),
    "portal.auth.forms:SetPasswordForm": ("auth.accept_invitation", None),
    "portal.auth.forms:ChangePasswordForm": ("auth.change_password", None),
    "portal.auth.forms:ChooseAgencyForm": ("auth.choose_agency", None),
    "portal.auth.forms:ConfirmTwoFactorForm": ("auth.two_factor_setup", None),
    "portal.auth.forms:DisableTwoFactorForm": ("auth.two_factor_disable", None),
    "portal.auth.forms:ForgotPasswordForm": ("auth.forgot_password", None),
    "portal.auth.oidc_forms:SignOnForm": ("auth.sign_on_settings", None),
    "portal.auth.oidc_forms:TestConnectionForm": ("auth.test_sign_on", None),
    "portal.agreements.forms:AgreementForm": ("agreements.new_agreement", None),
    "portal.agreements.forms:EditAgreementForm": ("agreements.edit_agreement", None),
    "portal.agreements.forms:SignForm": ("agreements.sign_party", None),
    "portal.agreements.forms:RevokeForm": ("agreements.revoke_agreement", None),
    "portal.meetings.summary_forms:SummaryForm": ("meetings.adult_summary", None),
    "portal.meetings.summary_forms:ShareForm": ("meetings.record_summary_shared", None),
    "portal.meetings.minutes_forms:MinutesForm": ("meetings.minutes", None),
    "portal.meetings.minutes_forms:ApproveForm": ("meetings.approve_minutes", None),
    "portal.meetings.minutes_forms:AmendForm": ("meetings.amend_minutes", None),
    "portal.meetings.minutes_forms:ActionForm": ("meetings.new_action", None),
    "portal.meetings.minutes_forms:ActionUpdateForm": ("meetings.action", None),
    "portal.meetings.forms:MeetingForm": ("meetings.edit_meeting", None),
    "portal.meetings.forms:ScheduleForm": ("meetings.schedule_meeting", None),
    "portal.meetings.forms:AgendaItemForm": ("meetings.edit_agenda", "add"),
    "portal.meetings.forms:AgendaChangeForm": ("meetings.edit_agenda", "item"),
    "portal.meetings.forms:InvitePeopleForm": ("meetings.invitees", "people"),
    "portal.meetings.forms:InviteAgencyForm": ("meetings.invitees", "agency"),
    "portal.meetings.forms:GuestForm": ("meetings.invitees", "guest"),
    "portal.meetings.forms:RemoveAttendeeForm": ("meetings.invitees", "remove"),
    "portal.meetings.forms:ReplyForm": ("meetings.reply", None),
    "portal.meetings.forms:ReplyForForm": ("meetings.record_reply_for", None),
    "portal.meetings.forms:CancelForm": ("meetings.cancel_meeting", None),
    "portal.meetings.forms:HeldForm": ("meetings.mark_held", None),
    "portal.intelligence.register.forms:RegisterFilterForm": ("register.register", None),
    "portal.intelligence.register.forms:RegisterEntryForm": ("register.edit_entry", None),
    "portal.intelligence.imports.forms:UploadForm": ("imports.new_import", None),
    "portal.intelligence.imports.forms:ConfirmForm": ("imports.confirm_import", None),
    "portal.intelligence.imports.forms:CancelForm": ("imports.cancel_import", None),
    "portal.intelligence.forms:TimelineFilterForm": ("intelligence.service_profile", None),
    "portal.intelligence.forms:ProviderSearchForm": ("intelligence.list_providers", None),
    "portal.intelligence.forms:ItemForm": ("intelligence.new_item", None),
    "portal.intelligence.forms:RemoveItemForm": ("intelligence.remove_item", None),
    "portal.intelligence.forms:InspectionForm": ("intelligence.new_inspection", None),
    "portal.intelligence.forms:ActionForm": ("intelligence.new_action", None),
    "portal.intelligence.forms:RespondForm": ("intelligence.respond_action", None),
    "portal.intelligence.forms:CompleteForm": ("intelligence.complete_action", None),
    "portal.intelligence.forms:VisitForm": ("intelligence.new_visit", None),
    "portal.intelligence.forms:AddStandardForm": ("intelligence.quality_standards", "add"),
    "portal.intelligence.forms:StandardChangeForm": ("intelligence.quality_standards", None),
    "portal.intelligence.forms:RenameStandardForm": ("intelligence.quality_standards", "rename"),
    "portal.notifications.forms:PreferencesForm": ("notifications.preferences", None),
    "portal.notifications.forms:ResendForm": ("notifications.resend_delivery", None),
    "portal.notifications.views:MarkAllReadForm": ("notifications.mark_all_read", None),
    "portal.reports.forms:PeriodForm": ("reports.msp_report", None),
    "portal.escalations.oversight_forms:PeriodForm": ("escalations.oversight", None),
    "portal.escalations.ladder_forms:LadderForm": ("escalations.ladder", None),
    "portal.escalations.forms:RaiseForm": ("escalations.raise_escalation", None),
    "portal.escalations.forms:AcknowledgeForm": ("escalations.acknowledge", None),
    "portal.escalations.forms:RespondForm": ("escalations.respond", None),
    "portal.escalations.forms:ResolveForm": ("escalations.resolve", None),
    "portal.escalations.forms:EscalateForm": ("escalations.escalate", None),
    "portal.escalations.forms:WithdrawForm": ("escalations.withdraw", None),
    "portal.escalations.forms:AdultViewForm": ("escalations.adult_view", None),
    "portal.escalations.forms:MediationNoteForm": ("escalations.mediation_note", None),
    "portal.concerns.raising_forms:RaiseConcernForm": ("raising.raise_concern", None),
    "portal.concerns.raising_forms:PublicReportForm": ("raising.report", None),
    "portal.concerns.raising_forms:SearchForm": ("raising.search", None),
    "portal.concerns.forms:TriageForm": ("concerns.triage", None),
    "portal.concerns.forms:AssignForm": ("concerns.assign", None),
    "portal.concerns.forms:ConfirmForm": ("concerns.start", None),
    "portal.concerns.forms:MspForm": ("concerns.msp", None),
    "portal.concerns.forms:OutcomeForm": ("concerns.new_outcome", None),
    "portal.concerns.forms:AdvocateForm": ("concerns.advocate", None),
    "portal.concerns.forms:AdultForm": ("concerns.adult", None),
    "portal.concerns.forms:LinkAdultForm": ("concerns.link_adult", None),
    "portal.concerns.forms:ConsentForm": ("concerns.consent", None),
    "portal.concerns.forms:OverrideForm": ("concerns.override", None),
    "portal.concerns.forms:CloseForm": ("concerns.close", None),
    "portal.concerns.forms:ReopenForm": ("concerns.reopen", None),
    "portal.concerns.forms:CommentForm": ("concerns.add_comment", None),
    "portal.people.forms:InvitePersonForm": ("people.invite", None),
    "portal.people.forms:EditPersonForm": ("people.edit_person", None),
    "portal.people.forms:AddRoleForm": ("people.add_role", None),
    "portal.people.forms:ConfirmForm": ("people.set_active", None),
    "portal.privacy.forms:BreakGlassForm": ("privacy.break_glass", None),
    "portal.privacy.forms:ReviewForm": ("privacy.review_break_glass", None),
    "portal.privacy.forms:RetentionForm": ("privacy.retention", None),
}
#: Forms read from the query string (filters): fuzzed with GET.
QUERY_FORMS = {
    "portal.intelligence.register.forms:RegisterFilterForm", "portal.intelligence.forms:TimelineFilterForm",
    "portal.intelligence.forms:ProviderSearchForm", "portal.reports.forms:PeriodForm",
    "portal.escalations.oversight_forms:PeriodForm", "portal.concerns.raising_forms:SearchForm",
}
#: Forms whose page the world does not reach (posted anyway, as the first candidate: still never a 5xx).
PARTLY_REACHED = {
    "portal.auth.forms:DisableTwoFactorForm": "nobody in the world has two-factor sign-in on",
    "portal.auth.forms:SecurityCodeForm": "nobody is halfway through signing in",
    "portal.escalations.forms:MediationNoteForm": "no escalation reaches the Board's stage",
    "portal.meetings.minutes_forms:AmendForm": "no minutes are approved",
}
CANDIDATES = ["SAFEGUARDING_LEAD", "COMMISSIONER", "COUNCIL_COMMISSIONER", "ADMINISTRATOR", "PROVIDER_MANAGER",
              "INSPECTOR", "SAB_CHAIR", "PROVIDER_STAFF", "SAB_MEMBER", "POLICE_LEAD", None]
EXAMPLES = 10


def discovered_forms() -> dict[str, type]:
    """Every form class defined in the portal's modules (the filters' plain WTForms forms too)."""
    for module in pkgutil.walk_packages(portal.__path__, "portal."):
        importlib.import_module(module.name)
    found, pending = {}, [BaseForm]
    while pending:
        for sub in pending.pop().__subclasses__():
            pending.append(sub)
            if sub.__module__.startswith("portal.") and sub.__name__ != "Form":  # the portal's base class
                if getattr(sys.modules[sub.__module__], sub.__name__, None) is not sub:
                    # Built at run time from a declared form (the ladder's form per number of
                    # stages, from LadderForm): its route is fuzzed through the declared one.
                    continue
                found[f"{sub.__module__}:{sub.__name__}"] = sub
    return found


def test_every_form_has_a_fuzz_target(app):
    missing = sorted(set(discovered_forms()) - set(TARGETS))
    assert not missing, "Forms with no fuzz target (add them to TARGETS in tests/security/test_fuzz_forms.py):\n" + "\n".join(missing)


class _FormFields(HTMLParser):
    """The names a page's forms post, with the values its radios, checkboxes and selects offer."""

    def __init__(self):
        super().__init__()
        self.names: dict[str, list[str]] = {}
        self._select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("input", "textarea", "select") and attrs.get("name"):
            values = self.names.setdefault(attrs["name"], [])
            if tag == "input" and attrs.get("type") in ("radio", "checkbox") and attrs.get("value") is not None:
                values.append(attrs["value"])
            self._select = attrs["name"] if tag == "select" else None
        elif tag == "option" and self._select and attrs.get("value") is not None:
            self.names[self._select].append(attrs["value"])


def _class_fields(form_class, prefix) -> dict[str, type]:
    fields = {}
    for name in dir(form_class):
        attribute = getattr(form_class, name, None)
        if isinstance(attribute, UnboundField):
            fields[f"{prefix}-{name}" if prefix else name] = attribute.field_class
    return fields


TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=8),
    st.sampled_from(["\x00", "a\x00b", " ", "-1", "0", "99999999999999999999", "1e309", "NaN", "31", "2026",
                     "<script>alert(1)</script>", "' OR 1=1 --", "😀" * 30, "x" * 20_000, "\u202e\ufeff", "%s%n"]),
)


def _value(field_class, offered: list[str]):
    if field_class is not None and issubclass(field_class, (wtf_fields.DateField,)):
        single = st.lists(TEXT, max_size=4)
    elif offered:
        single = st.one_of(st.sampled_from(offered), TEXT)
    else:
        single = TEXT
    return st.one_of(st.none(), single, st.lists(TEXT, min_size=2, max_size=3))


def _target_cases(app):
    forms = discovered_forms()
    endpoints = {rule.endpoint: rule for rule in routes.rules(app)}
    return [(name, forms[name], endpoints[endpoint], prefix) for name, (endpoint, prefix) in sorted(TARGETS.items())
            if name in forms and endpoint in endpoints]


def _user(world, who):
    return None if who is None else world.users[who]


def _prepare(app, world, client, sign_in_as, db_session, rule, method, form_case):
    """The first person who may use the route, and the field names its page shows them."""
    url = routes.url(rule, world.ids)
    for who in CANDIDATES:
        with client.session_transaction() as session:
            session.clear()
        if who is not None:
            sign_in_as(world.users[who])
        if "GET" in rule.methods:
            page = client.get(url)
            if page.status_code == 200:
                parser = _FormFields()
                parser.feed(page.get_data(as_text=True))
                return who, url, parser.names
            continue
        with undone(db_session):
            response = client.open(url, method=method, data={})
        if response.status_code not in (403, 404) and not signed_in_redirect(response):
            return who, url, {}
    if form_case in PARTLY_REACHED:
        return CANDIDATES[0], url, {}
    pytest.fail(f"nobody in the world may use {rule.rule}")


@pytest.fixture(scope="module")
def prepared():
    return {}


def pytest_generate_tests(metafunc):
    if "form_case" in metafunc.fixturenames:
        metafunc.parametrize("form_case", sorted(TARGETS), ids=lambda name: name.replace("portal.", ""))


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_no_input_to_any_form_gives_a_server_error(form_case, data, app, world, client, sign_in_as, db_session, prepared):
    forms = discovered_forms()
    if form_case not in forms:
        pytest.skip("not in this version of the portal")
    endpoint, prefix = TARGETS[form_case]
    rule = next((r for r in routes.rules(app) if r.endpoint == endpoint), None)
    assert rule is not None, f"{form_case}: no route {endpoint}"
    method = "GET" if form_case in QUERY_FORMS else "POST"
    if form_case not in prepared:
        prepared[form_case] = _prepare(app, world, client, sign_in_as, db_session, rule, method, form_case)
    who, url, page_fields = prepared[form_case]
    fields = _class_fields(forms[form_case], prefix)
    names = sorted(set(fields) | {n for n in page_fields if n != "csrf_token" and (not prefix or n.startswith(prefix + "-") or n not in fields)})
    payload = {}
    for name in names:
        value = data.draw(_value(fields.get(name), page_fields.get(name, [])), label=name)
        if value is not None:
            payload[name] = value
    with undone(db_session):
        with client.session_transaction() as session:
            session.clear()
        if who is not None:
            sign_in_as(world.users[who])
        if method == "GET":
            response = client.get(url, query_string=payload)
        else:
            response = client.post(url, data=payload)
    assert response.status_code < 500, f"{method} {url} as {who}: {response.status_code}"
