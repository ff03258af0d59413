"""privacy: break-glass access, retention settings and redaction of closed concerns (part E fills this in)

Revision ID: 0008priv
Revises: 0008sec
Create Date: 2026-11-22 19:50:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = '0008priv'
down_revision = '0008sec'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
