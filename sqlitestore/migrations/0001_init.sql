-- +goose Up
-- Organization invitations. IDs are 16-byte BLOBs, so SQLite compares them
-- byte by byte, as store.CompareIDs does; times are INTEGER Unix
-- microseconds, the precision the services truncate to.
--
-- open_claim is 1 while the row may be open (pending and unexpired at the
-- time it was last written). The partial unique index below allows one claim
-- per (organization, email), which makes the open-invitation rule hold under
-- any concurrency; a claim whose row has since expired is released by the
-- store, inside the write transaction of the create or update that needs
-- the slot.
CREATE TABLE invitations (
    id          BLOB    NOT NULL PRIMARY KEY,
    org_id      BLOB    NOT NULL,
    email       TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    inviter_id  TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    nonce       BLOB,
    created_at  INTEGER NOT NULL,
    sent_at     INTEGER NOT NULL,
    expire_at   INTEGER NOT NULL,
    accepted_at INTEGER,
    revoked_at  INTEGER,
    open_claim  INTEGER NOT NULL CHECK (open_claim IN (0, 1))
) WITHOUT ROWID;

-- Keyset pages of one organization, newest first.
CREATE INDEX invitations_org_created ON invitations (org_id, created_at, id);
-- The same, filtered by stored status.
CREATE INDEX invitations_org_status ON invitations (org_id, status, created_at, id);
-- The same, filtered by email.
CREATE INDEX invitations_org_email ON invitations (org_id, email, created_at, id);
-- At most one open invitation per organization and email.
CREATE UNIQUE INDEX invitations_open ON invitations (org_id, email) WHERE open_claim = 1;
-- Pending invitations addressed to an email, across organizations.
CREATE INDEX invitations_email_pending ON invitations (email, created_at, id) WHERE status = 'pending';

-- Guest invitations. Column names are the documented field names.
CREATE TABLE guest_invitations (
    id                       BLOB    NOT NULL PRIMARY KEY,
    host_organization_id     BLOB    NOT NULL,
    email                    TEXT    NOT NULL,
    first_invitation_sent_at INTEGER NOT NULL,
    last_invitation_sent_at  INTEGER NOT NULL,
    expired_at               INTEGER NOT NULL,
    status                   TEXT    NOT NULL,
    archived                 INTEGER NOT NULL CHECK (archived IN (0, 1)),
    created_at               INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL,
    accepted_at              INTEGER,
    archived_at              INTEGER,
    parent_organization_id   BLOB,
    parent_organization_name TEXT,
    nonce                    BLOB,
    open_claim               INTEGER NOT NULL CHECK (open_claim IN (0, 1))
) WITHOUT ROWID;

-- One index per documented list order; ties break on id.
CREATE INDEX guest_invitations_created ON guest_invitations (host_organization_id, created_at, id);
CREATE INDEX guest_invitations_email ON guest_invitations (host_organization_id, email, id);
CREATE INDEX guest_invitations_first_sent ON guest_invitations (host_organization_id, first_invitation_sent_at, id);
CREATE INDEX guest_invitations_last_sent ON guest_invitations (host_organization_id, last_invitation_sent_at, id);
CREATE INDEX guest_invitations_expired ON guest_invitations (host_organization_id, expired_at, id);
CREATE INDEX guest_invitations_updated ON guest_invitations (host_organization_id, updated_at, id);
CREATE INDEX guest_invitations_accepted ON guest_invitations (host_organization_id, accepted_at, id);
CREATE INDEX guest_invitations_archived ON guest_invitations (host_organization_id, archived_at, id);
-- At most one open guest invitation per host organization and email.
CREATE UNIQUE INDEX guest_invitations_open ON guest_invitations (host_organization_id, email) WHERE open_claim = 1;
