"""The plain-language summary for the adult a meeting was about: writing it, and recording when
and how it was given to them.

The summary is about the adult, so each change is audited (without its text, which stays in the
summary). Only the lead for the adult writes it (``policy.can_write_adult_summary``).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.exc import IntegrityError

from portal import policy
from portal.audit.operations import record
from portal.core.concurrency import CONFLICT_MESSAGE, ConcurrentEditError, check_version
from portal.core.rules import WHOLE_RECORD, RuleError
from portal.core.templating import LONDON, format_date
from portal.core.workdays import london_today
from portal.extensions import db
from portal.meetings.models import AdultSummary, Meeting, ShareFormat, SummaryShare
from portal.meetings.plain_language import check_plain_language
from portal.people.models import User

MAX_TEXT = 20000
#: The column's length.
MAX_LANGUAGE = 80


class SummaryError(RuleError):
    pass


def summary_for(meeting: Meeting) -> AdultSummary | None:
    return db.session.scalar(db.select(AdultSummary).where(AdultSummary.meeting_id == meeting.id))


def _refuse_unless_writer(meeting: Meeting, by: User) -> None:
    if not policy.can_write_adult_summary(by, meeting):
        raise SummaryError(WHOLE_RECORD, "Only the lead for the adult may write their summary")


def save_summary(meeting: Meeting, *, text: str, by: User, version: int | None = None) -> AdultSummary:
    """Write or rewrite the meeting's summary for the adult.

    ``version`` is the summary's version the text was based on (0 when there was none yet); None
    skips the check. Unchanged text saves nothing.
    """
    _refuse_unless_writer(meeting, by)
    text = (text or "").strip()
    if not text:
        raise SummaryError("text", "Enter the summary for the adult")
    if len(text) > MAX_TEXT:
        raise SummaryError("text", f"The summary must be {MAX_TEXT:,} characters or fewer")
    summary = summary_for(meeting)
    if summary is None:
        if version not in (None, 0):
            raise ConcurrentEditError(CONFLICT_MESSAGE)
        summary = AdultSummary(meeting_id=meeting.id, text=text, written_by_id=by.id)
        try:
            # Two people writing the first summary at once: the second is told, not failed.
            with db.session.begin_nested():
                db.session.add(summary)
        except IntegrityError as exc:
            raise ConcurrentEditError(CONFLICT_MESSAGE) from exc
        action, summary_text = "meeting.summary.write", "wrote the plain-language summary for the adult"
    else:
        if version is not None:
            check_version(summary, version)
        if summary.text == text:
            return summary
        summary.text, summary.written_by_id = text, by.id
        db.session.flush()
        action, summary_text = "meeting.summary.change", "changed the plain-language summary for the adult"
    report = check_plain_language(text)
    record(action, summary_text, target=summary, actor=by, details={
        "meeting_id": meeting.id,
        "reads_as_plain_language": report.reads_as_plain_language,
        "flesch_reading_ease": round(report.readability.flesch_reading_ease, 1) if report.readability else None,
    })
    return summary


def record_summary_shared(
    summary: AdultSummary, *, shared_on: date | None, format: ShareFormat | None, language: str | None = None, by: User,
) -> SummaryShare:
    """Record that the summary was given to the adult: on which day, in what form, by whom."""
    meeting = db.session.get(Meeting, summary.meeting_id)
    _refuse_unless_writer(meeting, by)
    language = (language or "").strip() or None
    problems = []
    if shared_on is None:
        problems.append(("shared_on", "Enter the date the summary was shared"))
    elif shared_on > london_today():
        problems.append(("shared_on", "The date the summary was shared must be today or in the past"))
    else:
        held_on = meeting_day(meeting)
        if shared_on < held_on:
            problems.append(
                ("shared_on", f"The date the summary was shared must be on or after the meeting ({format_date(held_on)})")
            )
    if format is None:
        problems.append(("format", "Select how the summary was shared"))
    elif format is ShareFormat.LANGUAGE and language is None:
        problems.append(("language", "Enter the language the summary was translated into"))
    if language is not None and len(language) > MAX_LANGUAGE:
        problems.append(("language", f"The language must be {MAX_LANGUAGE} characters or fewer"))
    if problems:
        raise SummaryError(problems[0][0], problems[0][1], problems)
    share = SummaryShare(
        summary_id=summary.id, shared_on=shared_on, format=format,
        language=language if format is ShareFormat.LANGUAGE else None, shared_by_id=by.id,
    )
    db.session.add(share)
    db.session.flush()
    record("meeting.summary.share", "recorded that the summary was shared with the adult", target=share, actor=by,
           details={"meeting_id": meeting.id, "shared_on": shared_on, "format": format, "language": share.language})
    return share


def meeting_day(meeting: Meeting) -> date:
    """The day the meeting started, in England."""
    return meeting.starts_at.astimezone(LONDON).date()
