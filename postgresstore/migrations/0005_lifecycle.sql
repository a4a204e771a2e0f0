-- +goose Up
-- The invitation lifecycle: metadata, sweeps and limits (the same columns
-- and indexes as sqlitestore's).
--
-- metadata is the application's JSON object given at create, kept as text
-- byte for byte (jsonb would reorder it; the service stores it compact);
-- NULL when none.
-- expiry_recorded is set by the sweep once it has recorded an invitation's
-- expiry (its *.expired event), so each expiry is recorded once; a resend
-- that revives the invitation clears it. Every row starts with its expiry
-- unrecorded: the first sweep after the upgrade records, once each, the
-- expiries that passed before it, as it would have had it run then.
-- Adding a column with a constant default rewrites no row.

ALTER TABLE invitations ADD COLUMN metadata text, ADD COLUMN expiry_recorded boolean NOT NULL DEFAULT false;
ALTER TABLE guest_invitations ADD COLUMN metadata text, ADD COLUMN expiry_recorded boolean NOT NULL DEFAULT false;

-- What a sweep records next: the expiries not yet recorded, soonest first.
CREATE INDEX invitations_expiring ON invitations (expire_at, id) WHERE status = 'pending' AND NOT expiry_recorded;
CREATE INDEX guest_invitations_expiring ON guest_invitations (expired_at, id) WHERE status = 'sent' AND NOT expiry_recorded;
-- What a purge deletes: the records that ended, by when they ended.
CREATE INDEX invitations_ended ON invitations (COALESCE(accepted_at, revoked_at, expire_at))
    WHERE status <> 'pending' OR expiry_recorded;
CREATE INDEX guest_invitations_ended ON guest_invitations (COALESCE(accepted_at, expired_at))
    WHERE status <> 'sent' OR expiry_recorded;
-- An organization's open invitations, by expiry: the limit of open
-- invitations counts them here, and stops at the limit. Only rows that
-- hold a claim are in it, and those expired since are past the seek.
CREATE INDEX invitations_open_expiry ON invitations (organization_id, expire_at) WHERE open_claim;
CREATE INDEX guest_invitations_open_expiry ON guest_invitations (host_organization_id, expired_at) WHERE open_claim;
-- An organization's events of one type, newest first: the creates-per-hour
-- limit counts its creates here, and the events route filters by type.
CREATE INDEX events_organization_type ON events (organization_id, type, occurred_at);
