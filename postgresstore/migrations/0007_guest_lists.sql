-- +goose Up
-- Guest lists that cost the same at a million rows as at a thousand (the
-- same tables, indexes and rules as sqlitestore's).
--
-- Counts: total_items of a list is a sum of counters, not a count of the
-- host's rows. Triggers keep counters per host, status, archived and
-- expiry_recorded in the transaction that changes a row, so the sum is as
-- exact as the rows. Each key has 32 shards, picked by the row's ID, so
-- that concurrent creates of one host seldom wait on one counter's row
-- lock until their commits. The time-dependent part, expired, is the
-- counter of sent rows whose expiry the sweep recorded, corrected by the
-- few rows between sweeps: those expired and not yet recorded, and
-- recorded ones no longer expired at the list's instant (a clock behind
-- the sweep's). The two partial indexes below count those through a seek.
CREATE TABLE guest_invitation_counts (
    host_organization_id uuid     NOT NULL,
    status               text     NOT NULL,
    archived             boolean  NOT NULL,
    expiry_recorded      boolean  NOT NULL,
    shard                smallint NOT NULL,
    n                    bigint   NOT NULL,
    PRIMARY KEY (host_organization_id, status, archived, expiry_recorded, shard)
);

INSERT INTO guest_invitation_counts (host_organization_id, status, archived, expiry_recorded, shard, n)
    SELECT host_organization_id, status, archived, expiry_recorded, get_byte(uuid_send(id), 15) % 32, count(*)
    FROM guest_invitations GROUP BY 1, 2, 3, 4, 5;

-- Inserts and deletes count per statement, from the statement's rows
-- (a transition table): a counter row updated once per row, many times in
-- one transaction (a COPY, a purge), leaves a version per update that each
-- next update walks, quadratic in the rows. Updates change one row a
-- statement, or a sweep's batch, and count per row, only when a counted
-- column changes. The functions resolve the counters' table through the
-- search_path they were created with (the store's schema), not the
-- caller's.
-- +goose StatementBegin
CREATE FUNCTION guest_invitations_count_inserted() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO guest_invitation_counts AS c
        SELECT host_organization_id, status, archived, expiry_recorded, get_byte(uuid_send(id), 15) % 32, count(*)
        FROM inserted GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (host_organization_id, status, archived, expiry_recorded, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION guest_invitations_count_deleted() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO guest_invitation_counts AS c
        SELECT host_organization_id, status, archived, expiry_recorded, get_byte(uuid_send(id), 15) % 32, -count(*)
        FROM deleted GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (host_organization_id, status, archived, expiry_recorded, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION guest_invitations_count_updated() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO guest_invitation_counts AS c VALUES
        (OLD.host_organization_id, OLD.status, OLD.archived, OLD.expiry_recorded, get_byte(uuid_send(OLD.id), 15) % 32, -1)
    ON CONFLICT (host_organization_id, status, archived, expiry_recorded, shard) DO UPDATE SET n = c.n - 1;
    INSERT INTO guest_invitation_counts AS c VALUES
        (NEW.host_organization_id, NEW.status, NEW.archived, NEW.expiry_recorded, get_byte(uuid_send(NEW.id), 15) % 32, 1)
    ON CONFLICT (host_organization_id, status, archived, expiry_recorded, shard) DO UPDATE SET n = c.n + 1;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER guest_invitations_count_insert AFTER INSERT ON guest_invitations
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION guest_invitations_count_inserted();
CREATE TRIGGER guest_invitations_count_delete AFTER DELETE ON guest_invitations
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION guest_invitations_count_deleted();
CREATE TRIGGER guest_invitations_count_update AFTER UPDATE OF status, archived, expiry_recorded ON guest_invitations
    FOR EACH ROW WHEN (OLD.status <> NEW.status OR OLD.archived <> NEW.archived OR OLD.expiry_recorded <> NEW.expiry_recorded)
    EXECUTE FUNCTION guest_invitations_count_updated();

CREATE INDEX guest_invitations_expired_unrecorded ON guest_invitations (host_organization_id, expired_at, archived)
    WHERE status = 'sent' AND NOT expiry_recorded;
CREATE INDEX guest_invitations_expired_recorded ON guest_invitations (host_organization_id, expired_at, archived)
    WHERE status = 'sent' AND expiry_recorded;

-- No parallel plans on the table: every query of the store reads an index
-- for a page or a count of few rows, and the planner, whose estimate of a
-- range of the partial indexes above is the table's distribution, not the
-- few rows between sweeps, would start workers for such a count: 30-40 ms
-- of startup for a count of none.
ALTER TABLE guest_invitations SET (parallel_workers = 0);

-- Filters: a page filtered by status or archived, in the default order,
-- seeks its own index instead of walking the host's rows for matches.
-- expired_at rides along so the expired filter is read from the index.
CREATE INDEX guest_invitations_status_created ON guest_invitations (host_organization_id, status, created_at, id) INCLUDE (expired_at);
CREATE INDEX guest_invitations_archived_created ON guest_invitations (host_organization_id, archived, created_at, id);

-- Email search: a trigram index (pg_trgm) serves the list's LIKE. The
-- extension is installed once per database, in public, unless it is
-- already there (in any schema). Where it cannot be (no privilege, not
-- installed on the server), the index is left out and a search reads the
-- host's rows, as before: the results are the same.
-- +goose StatementBegin
DO $$
DECLARE
    s name;
BEGIN
    -- One store migrating at a time installs the extension.
    PERFORM pg_advisory_xact_lock(7368823495163061049);
    SELECT n.nspname INTO s FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
    IF s IS NULL THEN
        BEGIN
            CREATE EXTENSION pg_trgm WITH SCHEMA public;
            s := 'public';
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'invitekit: pg_trgm cannot be installed (%): guest email search reads the host''s rows', SQLERRM;
            RETURN;
        END;
    END IF;
    EXECUTE format('CREATE INDEX guest_invitations_email_trgm ON guest_invitations USING gin (email %I.gin_trgm_ops)', s);
END
$$;
-- +goose StatementEnd
