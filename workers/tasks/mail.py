"""Mail tasks: thin wrappers that take ids and call portal operations."""

from portal.notifications.backends import TransientError
from workers.celery_app import celery


@celery.task(name="workers.tasks.mail.send_invitation", autoretry_for=(TransientError,), retry_backoff=True, max_retries=5)
def send_invitation(invitation_id: int) -> None:
    """Email an invitation link; the invitation is reloaded, and skipped if no longer usable."""
    from portal.people.operations import deliver_invitation

    deliver_invitation(invitation_id)
