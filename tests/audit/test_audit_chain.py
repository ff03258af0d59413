import pytest
import sqlalchemy as sa

from portal.audit.models import AuditChainHead, AuditEvent
from portal.audit.operations import record, verify_chain


def _tamper(db_session, statement):
    """Bypass the append-only triggers, as an attacker with database access would."""
    connection = db_session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
    else:
        connection.exec_driver_sql("DROP TRIGGER audit_event_no_update")
        connection.exec_driver_sql("DROP TRIGGER audit_event_no_delete")
    connection.execute(statement)
    db_session.expire_all()


@pytest.fixture
def three_events(db_session, make_user):
    actor = make_user()
    events = [record("test.event", f"event {n}", target=actor, details={"n": n}, actor=actor) for n in range(3)]
    db_session.flush()
    return events


def test_chain_is_intact_after_ordinary_events(three_events):
    report = verify_chain()
    assert report.intact
    assert report.checked >= 3
    assert [e.seq for e in three_events] == [three_events[0].seq + i for i in range(3)]


def test_events_link_to_the_one_before(three_events):
    first, second, third = three_events
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash


def test_altered_event_is_reported_as_the_break(db_session, three_events):
    target_id, target_seq = three_events[1].id, three_events[1].seq
    _tamper(db_session, sa.update(AuditEvent).where(AuditEvent.id == target_id).values(summary="nothing to see"))
    report = verify_chain()
    assert not report.intact
    assert report.broken_at == target_seq
    assert "contents" in report.reason


def test_deleted_event_is_reported(db_session, three_events):
    target_id, target_seq = three_events[1].id, three_events[1].seq
    _tamper(db_session, sa.delete(AuditEvent).where(AuditEvent.id == target_id))
    report = verify_chain()
    assert report.broken_at == target_seq
    assert "missing" in report.reason


def test_removing_the_newest_events_is_reported(db_session, three_events):
    _tamper(db_session, sa.delete(AuditEvent).where(AuditEvent.id == three_events[-1].id))
    report = verify_chain()
    assert not report.intact
    assert "removed" in report.reason


def test_rehashing_an_event_without_the_key_still_breaks_the_chain(db_session, three_events):
    import hashlib

    target_id, target_seq = three_events[0].id, three_events[0].seq
    forged = hashlib.sha256(b"forged").hexdigest()
    _tamper(db_session, sa.update(AuditEvent).where(AuditEvent.id == target_id).values(hash=forged))
    report = verify_chain()
    assert report.broken_at == target_seq


@pytest.mark.parametrize("statement", ["update", "delete"])
def test_database_refuses_to_change_stored_events(db_session, three_events, statement):
    query = (
        sa.update(AuditEvent).values(summary="changed")
        if statement == "update"
        else sa.delete(AuditEvent)
    ).where(AuditEvent.id == three_events[0].id)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        with db_session.begin_nested():
            db_session.execute(query)


def test_verify_command_exits_non_zero_and_names_the_event(app, db_session, three_events):
    target_id, target_seq = three_events[2].id, three_events[2].seq
    _tamper(db_session, sa.update(AuditEvent).where(AuditEvent.id == target_id).values(action="auth.nothing"))
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"BROKEN at event {target_seq}" in result.output


def test_verify_command_reports_intact_trail(app, three_events):
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0
    assert "intact" in result.output


def test_head_row_tracks_the_newest_event(db_session, three_events):
    head = db_session.get(AuditChainHead, 1)
    assert head.seq == three_events[-1].seq
    assert head.last_hash == three_events[-1].hash
