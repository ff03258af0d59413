"""Our calendar files read by a calendar program's own parser: Mozilla's ical.js (the engine of
Thunderbird's calendar), run with Node.js from the project's npm packages.

The icalendar library that writes the files could agree with itself about a mistake; ical.js is
independent. It must find the event at the right instant from the file's own VTIMEZONE (not
from a time zone database of its own) on both sides of the clock changes, and read the method,
UID, SEQUENCE, status, organiser and attendees.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from portal.meetings.calendar import CANCEL, PUBLISH, REQUEST, build_calendar
from portal.meetings.models import MeetingStatus
from portal.notifications.reminders import london_time

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ICAL_JS = PROJECT_ROOT / "node_modules" / "ical.js" / "dist" / "ical.js"

#: Reads a calendar from stdin with ical.js, using only the VTIMEZONE components in the file.
READER = """
import ICAL from %(module)s;
let text = "";
for await (const chunk of process.stdin) text += chunk;
const calendar = new ICAL.Component(ICAL.parse(text));
for (const zone of calendar.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(new ICAL.Timezone(zone));
}
const events = calendar.getAllSubcomponents("vevent").map((component) => {
  const event = new ICAL.Event(component);
  return {
    uid: event.uid,
    sequence: event.sequence,
    summary: event.summary,
    status: component.getFirstPropertyValue("status"),
    zone: event.startDate.zone.tzid,
    start: event.startDate.toJSDate().toISOString(),
    end: event.endDate.toJSDate().toISOString(),
    organizer: component.getFirstPropertyValue("organizer"),
    attendees: event.attendees.map((attendee) => attendee.getFirstValue()),
  };
});
console.log(JSON.stringify({method: calendar.getFirstPropertyValue("method"), events}));
"""


def _node_or_fail() -> str:
    node = shutil.which("node")
    if node is None or not ICAL_JS.exists():
        message = "Node.js and node_modules/ical.js are needed (run `make assets`, which runs npm ci)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return node


def read_with_ical_js(ics: bytes) -> dict:
    script = READER % {"module": json.dumps(ICAL_JS.as_uri())}
    done = subprocess.run(
        [_node_or_fail(), "--input-type=module", "-e", script], input=ics, capture_output=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.mark.parametrize(
    ("day", "utc_hour"),
    [
        (date(2026, 10, 23), 8),  # British Summer Time: 09:30 in England is 08:30 UTC
        (date(2026, 10, 26), 9),  # the Monday after the clocks went back: 09:30 GMT
        (date(2027, 3, 26), 9),  # the Friday before they go forward
        (date(2027, 3, 29), 8),  # the Monday after
    ],
)
def test_a_calendar_program_finds_the_meeting_at_the_right_instant_across_the_clock_changes(
    make_meeting, intel_world, day, utc_hour
):
    starts = london_time(day, time(9, 30))
    meeting = make_meeting(starts_at=starts.astimezone(UTC), invite=[intel_world.users.inspector])

    read = read_with_ical_js(build_calendar(meeting, method=REQUEST))

    assert read["method"] == "REQUEST"
    [event] = read["events"]
    assert event["zone"] == "Europe/London"
    assert event["start"] == _iso(starts) and event["start"][11:13] == f"{utc_hour:02d}"
    assert event["end"] == _iso(meeting.ends_at)
    assert event["uid"] == meeting.uid and event["sequence"] == meeting.sequence
    assert event["summary"] == meeting.title


def test_a_calendar_program_reads_an_update_a_cancellation_and_the_download(make_meeting, intel_world, db_session):
    users = intel_world.users
    meeting = make_meeting(invite=[users.inspector, users.manager])
    first = read_with_ical_js(build_calendar(meeting, method=REQUEST))["events"][0]
    assert first["organizer"] == f"mailto:{users.council_commissioner.email}"
    assert {f"mailto:{u.email}" for u in (users.council_commissioner, users.inspector, users.manager)} <= set(first["attendees"])

    meeting.sequence += 1
    meeting.status = MeetingStatus.CANCELLED
    db_session.flush()
    cancelled = read_with_ical_js(build_calendar(meeting, method=CANCEL))
    assert cancelled["method"] == "CANCEL"
    [event] = cancelled["events"]
    assert (event["uid"], event["sequence"], event["status"]) == (first["uid"], first["sequence"] + 1, "CANCELLED")

    download = read_with_ical_js(build_calendar(meeting, method=PUBLISH))
    assert download["method"] == "PUBLISH" and download["events"][0]["uid"] == first["uid"]
