"""The summary for the adult: the page where the lead writes it and checks its wording, and where
those who may see the adult's details read it; and the form recording that it was shared.

Each page finds the meeting through the policy layer (404 when the person may not see it or it is
not about an adult, 403 when they may see it but not the summary, or not write it); changes go
through ``portal.meetings.summary`` by ``save_form``, so a refusal shows on the form with nothing
typed lost.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portal import policy
from portal.audit.operations import record
from portal.core.rules import save_form
from portal.extensions import db
from portal.meetings import summary as operations
from portal.meetings.models import AdultSummary, Meeting
from portal.meetings.plain_language import LONG_SENTENCE_WORDS, PLAIN_ENGLISH_SCORE, check_plain_language
from portal.meetings.summary_forms import ShareForm, SummaryForm
from portal.people.models import User


def _me() -> User:
    return current_user._get_current_object()


def _adult_meeting_or_abort(meeting_id: int) -> Meeting:
    meeting = policy.visible_meeting_or_404(current_user, meeting_id)
    if not meeting.kind.about_an_adult:
        abort(404)
    return meeting


def _to_summary(meeting: Meeting, message: str, anchor: str | None = None, category: str = "success"):
    flash(message, category)
    return redirect(url_for("meetings.adult_summary", meeting_id=meeting.id, _anchor=anchor))


def _render_summary(
    meeting: Meeting, summary: AdultSummary | None, *, can_write: bool, form=None, report=None, unsaved: bool = False,
):
    """The page shows the adult's name and what was said about them: each showing is audited."""
    disclosure = policy.meeting_adult_disclosure(current_user, meeting)
    adult = meeting.concern.adult if disclosure.allowed and meeting.concern is not None else None
    record("meeting.summary.view", "read the plain-language summary for the adult", target=summary or meeting,
           details={"meeting_id": meeting.id})
    db.session.commit()
    return render_template(
        "meetings/summary.html",
        meeting=meeting,
        summary=summary,
        adult=adult,
        can_write=can_write,
        form=form,
        report=report,
        unsaved=unsaved,
        long_sentence_words=LONG_SENTENCE_WORDS,
        plain_english_score=PLAIN_ENGLISH_SCORE,
    )


@login_required
def adult_summary(meeting_id: int):
    meeting = _adult_meeting_or_abort(meeting_id)
    can_write = policy.can_write_adult_summary(current_user, meeting)
    if not can_write and (request.method == "POST" or not policy.can_read_adult_summary(current_user, meeting)):
        abort(403)
    summary = operations.summary_for(meeting)
    if not can_write:
        return _render_summary(meeting, summary, can_write=False)

    form = SummaryForm(text=summary.text if summary else None, version=summary.version if summary else 0)
    report = None
    if form.validate_on_submit():
        if request.form.get("action") == "check":
            report = check_plain_language(form.text.data)
        elif save_form(form, lambda: operations.save_summary(
            meeting, text=form.text.data, by=_me(), version=form.version.data,
        )):
            return _to_summary(meeting, "The summary has been saved. Its wording check is below.", anchor="wording-check")
    elif request.method == "GET" and summary is not None:
        report = check_plain_language(summary.text)
    return _render_summary(meeting, summary, can_write=True, form=form, report=report, unsaved=request.method == "POST")


@login_required
def record_summary_shared(meeting_id: int):
    meeting = _adult_meeting_or_abort(meeting_id)
    if not policy.can_write_adult_summary(current_user, meeting):
        abort(403)
    summary = operations.summary_for(meeting)
    if summary is None:
        return _to_summary(meeting, "Save the summary before recording that it was shared.", category="important")
    form = ShareForm()
    if form.validate_on_submit():
        def change():
            operations.record_summary_shared(
                summary, shared_on=form.shared_on.data, format=form.format.data, language=form.language.data, by=_me(),
            )

        if save_form(form, change):
            return _to_summary(meeting, "The summary has been recorded as shared.", anchor="shared")
    return render_template("meetings/summary_shared.html", meeting=meeting, summary=summary, form=form)
