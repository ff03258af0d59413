"""Import tasks: checking and applying a large file, by batch id.

Both are safe to run twice: checking stores the same findings again (and does nothing once the
batch has left "checking"), and applying goes on only in the run that claims the ready batch.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

from workers.celery_app import celery

_DATABASE_ERRORS = (DBAPIError,)


@celery.task(name="workers.tasks.imports.check_import", autoretry_for=_DATABASE_ERRORS, retry_backoff=True,
             retry_backoff_max=600, max_retries=5)
def check_import(batch_id: int) -> str | None:
    from portal.extensions import db
    from portal.intelligence.imports.operations import check_batch
    from portal.intelligence.models import ImportBatch

    batch = db.session.get(ImportBatch, batch_id)
    if batch is None:
        return None
    check_batch(batch)
    db.session.commit()
    return batch.status.name


@celery.task(name="workers.tasks.imports.apply_import")
def apply_import(batch_id: int) -> str | None:
    from portal.intelligence.imports.operations import apply_batch

    batch = apply_batch(batch_id)
    return batch.status.name if batch is not None else None
