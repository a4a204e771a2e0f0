-- +goose Up
-- Aligns the schema with postgresstore's: the same table and column names,
-- the same open-claim indexes and the same constraints in both stores (one
-- SQL core runs on both; the other indexes stay tuned to each planner).
-- invitations.org_id becomes organization_id; both tables gain the status
-- CHECK PostgreSQL always had (the store never wrote another status, so only
-- a row edited by hand can fail it, and then the migration rolls back and
-- Open says which constraint failed); the open-claim indexes get the
-- predicate "WHERE open_claim", which the core's statements spell the same
-- way. SQLite cannot add a CHECK to a table, so each table is rebuilt and
-- its rows copied, every column as it was: IDs, times and nonces are the
-- same bytes, so every token keeps working.
--
-- Stop every process that uses the file before the first one opens it with
-- this release: the renamed column fails the older code's statements.

CREATE TABLE invitations_v2 (
    id              BLOB    NOT NULL PRIMARY KEY,
    organization_id BLOB    NOT NULL,
    email           TEXT    NOT NULL,
    role            TEXT    NOT NULL,
    inviter_id      TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'accepted', 'revoked')),
    nonce           BLOB,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER NOT NULL,
    expire_at       INTEGER NOT NULL,
    accepted_at     INTEGER,
    revoked_at      INTEGER,
    open_claim      INTEGER NOT NULL CHECK (open_claim IN (0, 1))
) WITHOUT ROWID;

INSERT INTO invitations_v2 (id, organization_id, email, role, inviter_id, status, nonce, created_at, sent_at,
        expire_at, accepted_at, revoked_at, open_claim)
    SELECT id, org_id, email, role, inviter_id, status, nonce, created_at, sent_at,
        expire_at, accepted_at, revoked_at, open_claim
    FROM invitations;
DROP TABLE invitations;
ALTER TABLE invitations_v2 RENAME TO invitations;

-- Keyset pages of one organization, newest first.
CREATE INDEX invitations_org_created ON invitations (organization_id, created_at, id);
-- The same, filtered by stored status.
CREATE INDEX invitations_org_status ON invitations (organization_id, status, created_at, id);
-- The same, filtered by email.
CREATE INDEX invitations_org_email ON invitations (organization_id, email, created_at, id);
-- At most one open invitation per organization and email.
CREATE UNIQUE INDEX invitations_open ON invitations (organization_id, email) WHERE open_claim;
-- Pending invitations addressed to an email, across organizations.
CREATE INDEX invitations_email_pending ON invitations (email, created_at, id) WHERE status = 'pending';

CREATE TABLE guest_invitations_v2 (
    id                       BLOB    NOT NULL PRIMARY KEY,
    host_organization_id     BLOB    NOT NULL,
    email                    TEXT    NOT NULL,
    first_invitation_sent_at INTEGER NOT NULL,
    last_invitation_sent_at  INTEGER NOT NULL,
    expired_at               INTEGER NOT NULL,
    status                   TEXT    NOT NULL CHECK (status IN ('sent', 'accepted_by_guest', 'accepted_by_system')),
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

INSERT INTO guest_invitations_v2 (id, host_organization_id, email, first_invitation_sent_at,
        last_invitation_sent_at, expired_at, status, archived, created_at, updated_at, accepted_at, archived_at,
        parent_organization_id, parent_organization_name, nonce, open_claim)
    SELECT id, host_organization_id, email, first_invitation_sent_at,
        last_invitation_sent_at, expired_at, status, archived, created_at, updated_at, accepted_at, archived_at,
        parent_organization_id, parent_organization_name, nonce, open_claim
    FROM guest_invitations;
DROP TABLE guest_invitations;
ALTER TABLE guest_invitations_v2 RENAME TO guest_invitations;

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
CREATE UNIQUE INDEX guest_invitations_open ON guest_invitations (host_organization_id, email) WHERE open_claim;
