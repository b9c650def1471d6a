"""outbox: emails queued in the same transaction as their cause, and their attachments

Revision ID: fe4663246882
Revises: b44122707f41
Create Date: 2026-12-04 16:12:18.021789

"""
from alembic import op
import sqlalchemy as sa
import intranet.dbtypes


# revision identifiers, used by Alembic.
revision = 'fe4663246882'
down_revision = 'b44122707f41'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('outbox_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('sender', sa.String(length=320), nullable=False),
    sa.Column('to_json', sa.Text(), nullable=False),
    sa.Column('cc_json', sa.Text(), nullable=False),
    sa.Column('reply_to', sa.String(length=320), nullable=True),
    sa.Column('subject', sa.String(length=998), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=True),
    sa.Column('related_type', sa.String(length=60), nullable=True),
    sa.Column('related_id', sa.String(length=60), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', intranet.dbtypes.UTCDateTime(), nullable=False),
    sa.Column('next_attempt_at', intranet.dbtypes.UTCDateTime(), nullable=False),
    sa.Column('last_attempt_at', intranet.dbtypes.UTCDateTime(), nullable=True),
    sa.Column('claimed_until', intranet.dbtypes.UTCDateTime(), nullable=True),
    sa.Column('claim_token', sa.String(length=32), nullable=True),
    sa.Column('sent_at', intranet.dbtypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_message')),
    sa.UniqueConstraint('message_id', name=op.f('uq_outbox_message_message_id'))
    )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_message_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_outbox_message_related', ['related_type', 'related_id'], unique=False)
        batch_op.create_index('ix_outbox_message_status_id', ['status', 'id'], unique=False)

    op.create_table('outbox_attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('outbox_message_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=120), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['outbox_message_id'], ['outbox_message.id'], name=op.f('fk_outbox_attachment_outbox_message_id_outbox_message'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_attachment'))
    )
    with op.batch_alter_table('outbox_attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_attachment_outbox_message_id'), ['outbox_message_id'], unique=False)



def downgrade():
    with op.batch_alter_table('outbox_attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_attachment_outbox_message_id'))

    op.drop_table('outbox_attachment')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_message_status_id')
        batch_op.drop_index('ix_outbox_message_related')
        batch_op.drop_index('ix_outbox_message_due')

    op.drop_table('outbox_message')
