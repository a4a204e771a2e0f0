-- +goose Up
-- Join links and their redemptions (the same tables, columns and
-- constraints as postgresstore's).
--
-- A link's uses are counted in its row, which every redemption locks (the
-- one write transaction, here) with the insert of its redemption: the
-- CHECK and the unique index on (link_id, email) hold the two rules of
-- redemptions in the schema too. allowed_domains is a comma-separated list
-- of domains, empty for any; assigned_roles a JSON array, as on
-- invitations.
CREATE TABLE invite_links (
    id              BLOB    NOT NULL PRIMARY KEY,
    organization_id BLOB    NOT NULL,
    role            TEXT    NOT NULL,
    assigned_roles  TEXT    NOT NULL,
    max_uses        INTEGER NOT NULL CHECK (max_uses BETWEEN 1 AND 10000),
    uses            INTEGER NOT NULL CHECK (uses BETWEEN 0 AND max_uses),
    allowed_domains TEXT    NOT NULL,
    nonce           BLOB    NOT NULL,
    created_at      INTEGER NOT NULL,
    expire_at       INTEGER NOT NULL,
    revoked_at      INTEGER
) WITHOUT ROWID;

-- An organization's links, newest first, keyset on (created_at, id).
CREATE INDEX invite_links_organization_created ON invite_links (organization_id, created_at, id);

CREATE TABLE invite_link_redemptions (
    id              BLOB    NOT NULL PRIMARY KEY,
    link_id         BLOB    NOT NULL REFERENCES invite_links (id),
    organization_id BLOB    NOT NULL,
    email           TEXT    NOT NULL,
    role            TEXT    NOT NULL,
    assigned_roles  TEXT    NOT NULL,
    redeemed_at     INTEGER NOT NULL
) WITHOUT ROWID;

-- One redemption per link and email.
CREATE UNIQUE INDEX invite_link_redemptions_email ON invite_link_redemptions (link_id, email);
-- A link's redemptions, newest first, keyset on (redeemed_at, id).
CREATE INDEX invite_link_redemptions_link ON invite_link_redemptions (link_id, redeemed_at, id);
