-- +goose Up
-- Join links and their redemptions (the same tables, columns and
-- constraints as sqlitestore's).
--
-- A link's uses are counted in its row, which every redemption locks
-- (SELECT ... FOR UPDATE, queued) with the insert of its redemption: the
-- CHECK and the unique index on (link_id, email) hold the two rules of
-- redemptions in the schema too, whatever instance writes. allowed_domains
-- is a comma-separated list of domains, empty for any; assigned_roles a
-- JSON array, as on invitations.
CREATE TABLE invite_links (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    role            text NOT NULL,
    assigned_roles  text NOT NULL,
    max_uses        integer NOT NULL CHECK (max_uses BETWEEN 1 AND 10000),
    uses            integer NOT NULL CHECK (uses BETWEEN 0 AND max_uses),
    allowed_domains text NOT NULL,
    nonce           bytea NOT NULL,
    created_at      timestamptz NOT NULL,
    expire_at       timestamptz NOT NULL,
    revoked_at      timestamptz
);

-- An organization's links, newest first, keyset on (created_at, id).
CREATE INDEX invite_links_organization_created ON invite_links (organization_id, created_at DESC, id DESC);

CREATE TABLE invite_link_redemptions (
    id              uuid PRIMARY KEY,
    link_id         uuid NOT NULL REFERENCES invite_links (id),
    organization_id uuid NOT NULL,
    email           text COLLATE "C" NOT NULL,
    role            text NOT NULL,
    assigned_roles  text NOT NULL,
    redeemed_at     timestamptz NOT NULL
);

-- One redemption per link and email.
CREATE UNIQUE INDEX invite_link_redemptions_email ON invite_link_redemptions (link_id, email);
-- A link's redemptions, newest first, keyset on (redeemed_at, id).
CREATE INDEX invite_link_redemptions_link ON invite_link_redemptions (link_id, redeemed_at DESC, id DESC);
