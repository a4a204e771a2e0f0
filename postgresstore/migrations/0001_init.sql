-- +goose Up
-- Organization and guest invitations. The store applies this file with
-- search_path set to its schema, so names here are unqualified.
--
-- Emails use the "C" collation: equality is exact and ORDER BY email is
-- bytewise, the order store/storetest expects whatever the database's
-- default collation is.
--
-- claims_open is the store's device for "at most one open invitation per
-- (organization, email)": a partial unique index cannot mention the clock,
-- so a row claims the (organization, email) slot while it was open when last
-- written, and every write that opens a row first releases the claims of
-- rows of that slot that have expired since. Two open rows then collide in
-- the unique index, whichever instance writes them.

CREATE TABLE invitations (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL,
    email       text COLLATE "C" NOT NULL,
    role        text NOT NULL,
    inviter_id  text NOT NULL,
    status      text NOT NULL CHECK (status IN ('pending', 'accepted', 'revoked')),
    -- Nullable only so that a nil nonce round-trips as nil.
    nonce       bytea,
    created_at  timestamptz NOT NULL,
    sent_at     timestamptz NOT NULL,
    expire_at   timestamptz NOT NULL,
    accepted_at timestamptz,
    revoked_at  timestamptz,
    claims_open boolean NOT NULL
);

CREATE UNIQUE INDEX invitations_open_key ON invitations (org_id, email) WHERE claims_open;
-- The organization list: newest first, keyset on (created_at, id).
CREATE INDEX invitations_org_created ON invitations (org_id, created_at DESC, id DESC);
-- Invitations addressed to one email, across organizations, and the
-- organization list filtered by email.
CREATE INDEX invitations_email_created ON invitations (email, created_at DESC, id DESC);

CREATE TABLE guest_invitations (
    id                       uuid PRIMARY KEY,
    host_id                  uuid NOT NULL,
    email                    text COLLATE "C" NOT NULL,
    first_invitation_sent_at timestamptz NOT NULL,
    last_invitation_sent_at  timestamptz NOT NULL,
    expired_at               timestamptz NOT NULL,
    status                   text NOT NULL CHECK (status IN ('sent', 'accepted_by_guest', 'accepted_by_system')),
    archived                 boolean NOT NULL,
    created_at               timestamptz NOT NULL,
    updated_at               timestamptz NOT NULL,
    accepted_at              timestamptz,
    archived_at              timestamptz,
    parent_organization_id   uuid,
    parent_organization_name text,
    nonce                    bytea,
    claims_open              boolean NOT NULL
);

CREATE UNIQUE INDEX guest_invitations_open_key ON guest_invitations (host_id, email) WHERE claims_open;
-- One index per documented order. A forward or backward scan serves both
-- directions of a NOT NULL column; the nullable ones keep their nulls last
-- in both directions, which a backward scan cannot, so they have a second,
-- descending index.
CREATE INDEX guest_invitations_email ON guest_invitations (host_id, email, id);
CREATE INDEX guest_invitations_first_sent ON guest_invitations (host_id, first_invitation_sent_at, id);
CREATE INDEX guest_invitations_last_sent ON guest_invitations (host_id, last_invitation_sent_at, id);
CREATE INDEX guest_invitations_expired ON guest_invitations (host_id, expired_at, id);
CREATE INDEX guest_invitations_created ON guest_invitations (host_id, created_at, id);
CREATE INDEX guest_invitations_updated ON guest_invitations (host_id, updated_at, id);
CREATE INDEX guest_invitations_accepted ON guest_invitations (host_id, accepted_at, id);
CREATE INDEX guest_invitations_accepted_desc ON guest_invitations (host_id, accepted_at DESC NULLS LAST, id DESC);
CREATE INDEX guest_invitations_archived ON guest_invitations (host_id, archived_at, id);
CREATE INDEX guest_invitations_archived_desc ON guest_invitations (host_id, archived_at DESC NULLS LAST, id DESC);
