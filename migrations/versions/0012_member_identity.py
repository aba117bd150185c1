"""Members bound to their sign-in identity (issue 15, finding 3).

An email address is not an identity: some providers let a user edit it, and send no
`email_verified`. At a member's first OIDC sign-in the dashboard records the provider's
issuer and the user's subject on every membership row of that email; a later sign-in
with the same email but another (issuer, subject) is refused. Removing a member and
adding them again (a later save) clears the binding, for a user who really moved.

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE control.tenant_members
            ADD COLUMN oidc_issuer  text,
            ADD COLUMN oidc_subject text,
            ADD COLUMN bound_at     timestamptz,
            ADD CONSTRAINT tenant_members_identity_whole
                CHECK ((oidc_issuer IS NULL) = (oidc_subject IS NULL) AND (oidc_subject IS NULL) = (bound_at IS NULL))
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE control.tenant_members
            DROP CONSTRAINT tenant_members_identity_whole,
            DROP COLUMN bound_at,
            DROP COLUMN oidc_subject,
            DROP COLUMN oidc_issuer
        """
    )
