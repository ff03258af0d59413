"""Page store: the change generation that cached pages are checked against

Revision ID: 0005pages
Revises: 0004intel
Create Date: 2026-11-22 10:42:17.369599

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005pages'
down_revision = '0004intel'
branch_labels = None
depends_on = None


def upgrade():
    counter = op.create_table('change_counter',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_change_counter'))
    )
    op.bulk_insert(counter, [{"name": "pages", "value": 0}])


def downgrade():
    op.drop_table('change_counter')
