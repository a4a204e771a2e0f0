-- +goose Up
-- Guest lists that cost the same at a million rows as at a thousand (the
-- same tables, indexes and rules as postgresstore's).
--
-- Counts: total_items of a list is a sum of counters, not a count of the
-- host's rows. Triggers keep one counter per host, status, archived and
-- expiry_recorded in the transaction that changes a row, so the sum is as
-- exact as the rows. The time-dependent part, expired, is the counter of
-- sent rows whose expiry the sweep recorded, corrected by the few rows
-- between sweeps: those expired and not yet recorded, and recorded ones no
-- longer expired at the list's instant (a clock behind the sweep's). The
-- two partial indexes below count those through a seek.
CREATE TABLE guest_invitation_counts (
    host_organization_id BLOB    NOT NULL,
    status               TEXT    NOT NULL,
    archived             INTEGER NOT NULL,
    expiry_recorded      INTEGER NOT NULL,
    n                    INTEGER NOT NULL,
    PRIMARY KEY (host_organization_id, status, archived, expiry_recorded)
) WITHOUT ROWID;

INSERT INTO guest_invitation_counts (host_organization_id, status, archived, expiry_recorded, n)
    SELECT host_organization_id, status, archived, expiry_recorded, count(*)
    FROM guest_invitations GROUP BY host_organization_id, status, archived, expiry_recorded;

-- +goose StatementBegin
CREATE TRIGGER guest_invitations_count_insert AFTER INSERT ON guest_invitations
BEGIN
    INSERT INTO guest_invitation_counts (host_organization_id, status, archived, expiry_recorded, n)
        VALUES (NEW.host_organization_id, NEW.status, NEW.archived, NEW.expiry_recorded, 1)
        ON CONFLICT (host_organization_id, status, archived, expiry_recorded) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER guest_invitations_count_delete AFTER DELETE ON guest_invitations
BEGIN
    UPDATE guest_invitation_counts SET n = n - 1
        WHERE host_organization_id = OLD.host_organization_id AND status = OLD.status
            AND archived = OLD.archived AND expiry_recorded = OLD.expiry_recorded;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER guest_invitations_count_update AFTER UPDATE OF status, archived, expiry_recorded ON guest_invitations
    WHEN OLD.status <> NEW.status OR OLD.archived <> NEW.archived OR OLD.expiry_recorded <> NEW.expiry_recorded
BEGIN
    UPDATE guest_invitation_counts SET n = n - 1
        WHERE host_organization_id = OLD.host_organization_id AND status = OLD.status
            AND archived = OLD.archived AND expiry_recorded = OLD.expiry_recorded;
    INSERT INTO guest_invitation_counts (host_organization_id, status, archived, expiry_recorded, n)
        VALUES (NEW.host_organization_id, NEW.status, NEW.archived, NEW.expiry_recorded, 1)
        ON CONFLICT (host_organization_id, status, archived, expiry_recorded) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- They hold status and expiry_recorded too, though their WHERE fixes
-- both: SQLite reads a partial index alone (covering) only when it holds
-- every column the query names.
CREATE INDEX guest_invitations_expired_unrecorded ON guest_invitations
    (host_organization_id, expired_at, archived, status, expiry_recorded) WHERE status = 'sent' AND NOT expiry_recorded;
CREATE INDEX guest_invitations_expired_recorded ON guest_invitations
    (host_organization_id, expired_at, archived, status, expiry_recorded) WHERE status = 'sent' AND expiry_recorded;

-- Filters: a page filtered by status or archived, in the default order,
-- seeks its own index instead of walking the host's rows for matches.
-- expired_at rides along so the expired filter is read from the index.
CREATE INDEX guest_invitations_status_created ON guest_invitations (host_organization_id, status, created_at, id, expired_at);
CREATE INDEX guest_invitations_archived_created ON guest_invitations (host_organization_id, archived, created_at, id);

-- Email search: a trigram index (FTS5, contentless: the emails are in the
-- table already). Its rowids are those of guest_invitation_email_rows, an
-- INTEGER PRIMARY KEY that VACUUM keeps, where the table's own rowids it
-- may renumber. A search of three characters or more that the index finds
-- in few rows reads them (the list still checks instr, so the index only
-- narrows what it reads); one it finds in many walks the list's order.
CREATE TABLE guest_invitation_email_rows (
    n  INTEGER PRIMARY KEY,
    id BLOB    NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE guest_invitation_emails USING fts5 (email, content = '', contentless_delete = 1, tokenize = 'trigram');

INSERT INTO guest_invitation_email_rows (id) SELECT id FROM guest_invitations;
INSERT INTO guest_invitation_emails (rowid, email)
    SELECT r.n, g.email FROM guest_invitation_email_rows r JOIN guest_invitations g ON g.id = r.id;

-- +goose StatementBegin
CREATE TRIGGER guest_invitations_email_insert AFTER INSERT ON guest_invitations
BEGIN
    INSERT INTO guest_invitation_email_rows (id) VALUES (NEW.id);
    INSERT INTO guest_invitation_emails (rowid, email) VALUES (last_insert_rowid(), NEW.email);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER guest_invitations_email_delete AFTER DELETE ON guest_invitations
BEGIN
    DELETE FROM guest_invitation_emails WHERE rowid = (SELECT n FROM guest_invitation_email_rows WHERE id = OLD.id);
    DELETE FROM guest_invitation_email_rows WHERE id = OLD.id;
END;
-- +goose StatementEnd
