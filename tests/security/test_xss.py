"""What people type is shown back as text, never as markup, a link target or a template.

Stored: every free-text column of every row in the world is overwritten with attack strings
(whatever the forms would have let through), then every page of the portal is fetched as every
role; no page carries an attack string unescaped. A new column or page is attacked as soon as it
exists. Reflected: every query parameter the portal reads is sent an attack string on every page.
Exports: every CSV neutralises cells a spreadsheet would run as a formula.
"""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa

from portal.extensions import db
from tests.security import routes
from tests.security.helpers import undone

SCRIPT = "<script>alert(1)</script>"
IMAGE = '"><img src=x onerror=alert(1)>'
TEMPLATE = "{{7*191919}}"
TEMPLATE_RESULT = str(7 * 191919)
SHORT = "<i>xss</i>"
JAVASCRIPT_LINK = "javascript:alert(1)"
LONG = SCRIPT + IMAGE + TEMPLATE
#: Columns a person never types: codes, keys and hashes the portal parses or compares.
MACHINE_COLUMNS = {
    "password_hash", "uid", "rule", "reference", "content_sha256", "fingerprint", "hmac", "prev_hmac", "previous_hmac",
    "token_hash", "idempotency_key", "key", "message_id", "location_ref", "provider_ref", "postcode", "nhs_number",
    "object_type", "object_id", "action", "kind", "code", "timezone", "ip_address", "user_agent", "event",
}
LINK_COLUMNS = {"online_link", "url", "link"}
FORMULAS = ("=", "+", "-", "@")


def _text_columns():
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if type(column.type) not in (sa.String, sa.Text, sa.Unicode, sa.UnicodeText) or column.primary_key:
                continue
            if column.name in MACHINE_COLUMNS or column.name.endswith(("_hash", "_token", "_key", "_id")):
                continue
            yield table, column


def _payload(column, formula: bool) -> str | None:
    length = column.type.length or 10_000
    if formula:
        return "=HYPERLINK(\"http://evil.example\")" if length >= 40 else ("=1+2" if length >= 4 else None)
    if column.name in LINK_COLUMNS:
        return JAVASCRIPT_LINK
    for text in (LONG, SCRIPT, SHORT):
        if len(text) + 12 <= length:
            return text
    return None


def _overwrite_every_text(db_session, *, formula: bool = False) -> list[str]:
    """Put an attack string in every free-text column of every row; returns the columns written."""
    connection = db_session.connection()
    written = []
    for table, column in _text_columns():
        payload = _payload(column, formula)
        if payload is None:
            continue
        primary = list(table.primary_key.columns)
        value = sa.literal(payload) + sa.literal("#") + sa.cast(primary[0], sa.String) if len(primary) == 1 else sa.literal(payload)
        savepoint = connection.begin_nested()
        try:
            connection.execute(sa.update(table).values({column.name: value}))
            savepoint.commit()
            written.append(f"{table.name}.{column.name}")
        except sa.exc.DBAPIError:  # the append-only audit trail refuses, and so may a check constraint
            savepoint.rollback()
    db_session.expire_all()
    return written


def _get_pages(app):
    return [rule for rule in routes.rules(app, "GET")]


#: A person for each way the policy shows things (staff see less than their manager, the Board's
#: member what its chair sees).
VIEWERS = ["ADMINISTRATOR", "SAFEGUARDING_LEAD", "COMMISSIONER", "COUNCIL_COMMISSIONER", "PROVIDER_MANAGER", "INSPECTOR", "SAB_CHAIR"]


def test_stored_attack_strings_come_back_escaped_on_every_page(app, world, client, sign_in_as, db_session):
    written = _overwrite_every_text(db_session)
    assert {"concern.what_happened", "adult.name", "comment.body", "meeting.title", "escalation.disagreement",
            "intelligence_item.summary", "agency.name", "user_account.name", "agreement.purpose"} <= set(written)
    unsafe, broken, seen = [], [], 0
    for viewer in VIEWERS:
        sign_in_as(world.users[viewer])
        for rule in _get_pages(app):
            url = routes.url(rule, world.ids)
            response = client.get(url)
            if response.status_code >= 500:
                broken.append(f"{url} as {viewer}: {response.status_code}")
                continue
            if response.status_code != 200 or response.mimetype != "text/html":
                continue  # a CSV, calendar file or JSON is data, not markup
            body = response.get_data(as_text=True)
            seen += body.count("xss</i>") + body.count("alert(1)")
            for raw in (SCRIPT, "<img src=x onerror", SHORT, f'href="{JAVASCRIPT_LINK}', TEMPLATE_RESULT):
                if raw in body:
                    unsafe.append(f"{url} as {viewer}: {raw!r} unescaped")
    assert not broken, "\n".join(broken)
    assert not unsafe, "\n".join(unsafe)
    assert seen > 100, "the attack strings were not shown anywhere: did the pages change?"


def test_every_csv_export_neutralises_formulas(app, world, client, sign_in_as, db_session):
    _overwrite_every_text(db_session, formula=True)
    exports = [rule for rule in _get_pages(app) if rule.rule.endswith(".csv")]
    assert len(exports) >= 4
    dangerous, fetched = [], 0
    for viewer in VIEWERS:
        sign_in_as(world.users[viewer])
        for rule in exports:
            response = client.get(routes.url(rule, world.ids))
            assert response.status_code < 500, rule.rule
            if response.status_code != 200:
                continue
            fetched += 1
            for line, row in enumerate(csv.reader(io.StringIO(response.get_data(as_text=True))), start=1):
                for cell in row:
                    if cell.startswith(FORMULAS) and not _is_number(cell):
                        dangerous.append(f"{rule.rule} as {viewer}, line {line}: {cell[:40]!r}")
    assert fetched >= len(exports)
    assert not dangerous, "\n".join(dangerous)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


#: Every query parameter the portal reads (grep request.args, and the filter forms' fields).
QUERY_PARAMETERS = [
    "q", "kind", "status", "print", "item", "concern", "service", "provider", "action", "source", "rename", "from", "to",
    "person", "object_type", "object_id", "verify", "state", "page", "next", "reference", "abuse_type", "raised_from",
    "raised_to", "band", "converging", "service_type", "area", "commissioner", "rating", "visits", "sort", "per_page",
    "key_question", "period", "start", "end", "name",
]
REFLECTED = [LONG, "' OR 1=1 --", '"; DROP TABLE concern; --', "%_\\", "\x00%00"]


def test_query_strings_are_never_reflected_unescaped_nor_break_a_page(app, world, client, sign_in_as, db_session):
    problems = []
    for rule in _get_pages(app):
        url = routes.url(rule, world.ids)
        # Each page as the first of these who may open it (anonymous for the public pages).
        for viewer in ("SAFEGUARDING_LEAD", "ADMINISTRATOR", "SAB_CHAIR", "COMMISSIONER", "INSPECTOR", "PROVIDER_MANAGER"):
            sign_in_as(world.users[viewer])
            if client.get(url).status_code == 200:
                break
        for value in REFLECTED:
            response = client.get(url, query_string={name: value for name in QUERY_PARAMETERS})
            if response.status_code >= 500:
                problems.append(f"{url} with {value!r}: {response.status_code}")
            elif SCRIPT in response.text or "<img src=x onerror" in response.text or TEMPLATE_RESULT in response.text:
                problems.append(f"{url} with {value!r}: reflected unescaped")
    assert not problems, "\n".join(problems)


def test_a_search_for_an_injection_finds_no_concern_the_person_may_not_see(world, client, sign_in_as, db_session):
    from portal.concerns.models import Concern

    reference = db_session.get(Concern, world.ids["concern"]).reference
    # None of them may see the world's concern: the Board's member, another area's lead, another provider.
    for who in (world.users["SAB_MEMBER"], world.strangers["ELSEWHERE_SAFEGUARDING_LEAD"], world.strangers["STRANGER_MANAGER"]):
        sign_in_as(who)
        for value in ("' OR 1=1 --", "%", "_", "C-%", "' OR '1'='1", reference[:4] + "%"):
            for parameter in ("reference", "q"):
                page = client.get("/concerns/search", query_string={parameter: value})
                assert page.status_code == 200
                assert reference not in page.text
    sign_in_as(world.users["SAFEGUARDING_LEAD"])
    assert reference in client.get("/concerns/search", query_string={"reference": reference}).text
    assert reference not in client.get("/concerns/search", query_string={"reference": "%"}).text


def test_the_people_and_audit_filters_treat_wildcards_as_text(world, client, sign_in_as, db_session):
    sign_in_as(world.users["ADMINISTRATOR"])
    with undone(db_session):
        everyone = client.get("/admin/audit").text
        assert "person.invite" in everyone
        assert "person.invite" not in client.get("/admin/audit", query_string={"person": "%"}).text
        for wildcard in ("%", "_", "person_invite"):
            assert "person.invite" not in client.get("/admin/audit", query_string={"action": wildcard}).text
        assert "spare@attack.example" not in client.get("/admin/people", query_string={"q": "%"}).text
