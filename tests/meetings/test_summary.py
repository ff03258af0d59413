"""The summary for the adult: the lead checks its wording and saves it, records when and how it was
shared, and only those who may see the adult's details read it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.core.workdays import london_today
from portal.extensions import db
from portal.meetings import summary as operations
from portal.meetings.models import AdultSummary, MeetingKind, ShareFormat, SummaryShare
from portal.meetings.summary import SummaryError

JARGON = (
    "The section 42 enquiry was discussed by the XYZQ panel. "
    "We agreed that the protection plan would be looked at again by everyone at the meeting next month in the town hall."
)
PLAIN = "You told us you want to stay at home. We agreed to help you with your money. Sam will ring you on Monday."


@pytest.fixture
def adult_meeting(make_meeting, intel_world, adult_concern):
    """Held three days ago, about Jo; Sunrise's manager (whose agency raised the concern) and
    Moonlight's manager (no part in it, no agreement) were invited."""
    users = intel_world.users
    return make_meeting(
        kind=MeetingKind.ADULT_SAFEGUARDING, title="Safeguarding meeting", organiser=users.lead, concern=adult_concern,
        invite=[users.manager, users.other_manager], starts_at=datetime.now(UTC).replace(microsecond=0) - timedelta(days=3),
    )


def _summary_url(meeting) -> str:
    return f"/meetings/{meeting.id}/summary"


def _stored(meeting) -> AdultSummary | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(AdultSummary).where(AdultSummary.meeting_id == meeting.id))


def _audited(action: str) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


def test_the_lead_checks_the_wording_without_saving_then_saves_it(adult_meeting, intel_world, client, act_as):
    act_as(intel_world.users.lead)
    page = client.get(_summary_url(adult_meeting))
    assert page.status_code == 200
    assert "Summary for Jo Example" in page.text
    assert "Check the wording" in page.text and "Save the summary" in page.text
    assert "what happens next and who to" in page.text  # the Making Safeguarding Personal hint

    checked = client.post(_summary_url(adult_meeting), data={"text": JARGON, "version": "0", "action": "check"})
    assert checked.status_code == 200
    assert _stored(adult_meeting) is None  # checking saves nothing
    text = checked.text
    assert "the XYZQ panel" in text  # what was typed is kept in the box
    assert "Instead of ‘section 42 enquiry’, try: “A Section 42 enquiry is when the council looks into" in text
    assert "Instead of ‘protection plan’" in text
    assert "<strong>XYZQ</strong>: an abbreviation that may not be understood" in text
    assert "the town hall.” (22 words)" in text  # the long sentence, quoted
    assert "Could be plainer" in text and "Reading ease" in text
    assert "They have not been saved." in text

    saved = client.post(_summary_url(adult_meeting), data={"text": PLAIN, "version": "0", "action": "save"})
    assert saved.status_code == 302
    stored = _stored(adult_meeting)
    assert stored.text == PLAIN and stored.written_by_id == intel_world.users.lead.id
    assert _audited("meeting.summary.write") == 1

    shown = client.get(_summary_url(adult_meeting)).text
    assert "The summary has been saved" in shown
    assert "by Lena Lead" in shown
    assert "Reads as plain language" in shown
    assert "The summary has not been recorded as shared yet" in shown
    assert "Record that the summary was shared" in shown
    assert _audited("meeting.summary.view") >= 3


def test_saving_needs_text_and_refuses_a_stale_version(adult_meeting, intel_world, client, act_as, acting):
    lead = acting(intel_world.users.lead)
    operations.save_summary(adult_meeting, text="First words.", by=lead)
    db.session.commit()
    opened_version = _stored(adult_meeting).version
    operations.save_summary(adult_meeting, text="Someone else's words.", by=lead, version=opened_version)
    db.session.commit()

    act_as(intel_world.users.lead)
    empty = client.post(_summary_url(adult_meeting), data={"text": "  ", "version": str(opened_version), "action": "save"})
    assert empty.status_code == 200 and "Enter the summary for the adult" in empty.text

    stale = client.post(_summary_url(adult_meeting), data={"text": "My new words.", "version": str(opened_version), "action": "save"})
    assert stale.status_code == 200
    assert "Someone else changed this record" in stale.text
    assert "My new words." in stale.text
    assert _stored(adult_meeting).text == "Someone else's words."


def test_recording_that_the_summary_was_shared(adult_meeting, intel_world, client, act_as, acting):
    url = f"/meetings/{adult_meeting.id}/summary/shared"
    act_as(intel_world.users.lead)
    before = client.get(url)
    assert before.status_code == 302  # nothing to share yet
    assert "Save the summary before" in client.get(before.headers["Location"]).text

    operations.save_summary(adult_meeting, text=PLAIN, by=acting(intel_world.users.lead))
    db.session.commit()
    page = client.get(url)
    assert page.status_code == 200 and "Translated into another language" in page.text

    today = london_today()
    tomorrow, before_meeting = today + timedelta(days=1), today - timedelta(days=4)

    def post(day=None, format="", language=""):
        data = {"format": format, "language": language}
        if day is not None:
            data["shared_on"] = [str(day.day), str(day.month), str(day.year)]
        return client.post(url, data=data)

    no_date = post(format="EASY_READ")
    assert no_date.status_code == 200
    assert "Enter the date the summary was shared" in no_date.text
    assert 'value="EASY_READ" checked' in no_date.text

    future = post(tomorrow, format="LARGE_PRINT")
    assert "The date the summary was shared must be today or in the past" in future.text
    assert f'value="{tomorrow.day}"' in future.text

    early = post(before_meeting, format="AUDIO")
    assert "must be on or after the meeting" in early.text

    no_language = post(today, format="LANGUAGE")
    assert "Enter the language the summary was translated into" in no_language.text
    assert 'value="LANGUAGE" checked' in no_language.text and f'value="{today.year}"' in no_language.text

    nothing = post()
    assert "Select how the summary was shared" in nothing.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SummaryShare)) == 0

    done = post(today, format="LANGUAGE", language="Polish")
    assert done.status_code == 302
    share = db.session.scalar(sa.select(SummaryShare))
    assert (share.shared_on, share.format, share.language) == (today, ShareFormat.LANGUAGE, "Polish")
    assert share.shared_by_id == intel_world.users.lead.id
    assert _audited("meeting.summary.share") == 1
    shown = client.get(_summary_url(adult_meeting)).text
    assert "Translated into another language: Polish" in shown


def test_who_may_read_and_write_the_summary(adult_meeting, make_meeting, intel_world, client, act_as, acting):
    users = intel_world.users
    operations.save_summary(adult_meeting, text=PLAIN, by=acting(users.lead))
    db.session.commit()
    summary_url = _summary_url(adult_meeting)
    shared_url = f"{summary_url}/shared"

    # The manager of the agency that raised the concern reads it, but may not write it.
    act_as(users.manager)
    page = client.get(summary_url)
    assert page.status_code == 200
    assert "Sam will ring you on Monday." in page.text
    assert "<textarea" not in page.text and "Record that the summary was shared" not in page.text
    assert client.post(summary_url, data={"text": "Changed", "version": "1", "action": "save"}).status_code == 403
    assert client.get(shared_url).status_code == 403

    # Invited, but their agency did not raise the concern and shares no agreement: not the adult's details.
    act_as(users.other_manager)
    assert client.get(summary_url).status_code == 403
    assert client.get(shared_url).status_code == 403

    # Not invited at all: the meeting does not exist for them.
    act_as(users.staff)
    assert client.get(summary_url).status_code == 404

    # A meeting that is not about an adult has no summary, even for those invited to it.
    provider_meeting = make_meeting(organiser=users.council_commissioner, invite=[users.manager], providers=[intel_world.sunrise])
    act_as(users.manager)
    assert client.get(_summary_url(provider_meeting)).status_code == 404
    act_as(users.council_commissioner)
    assert client.get(_summary_url(provider_meeting)).status_code == 404
    assert client.get(f"/meetings/{provider_meeting.id}/summary/shared").status_code == 404

    # The operations refuse anyone but the lead.
    with pytest.raises(SummaryError, match="Only the lead"):
        operations.save_summary(adult_meeting, text="Changed", by=acting(users.manager))
    assert _stored(adult_meeting).text == PLAIN
