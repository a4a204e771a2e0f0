-- +goose Up
-- The event log and its outbox (the same table as postgresstore's). Every
-- change of an invitation appends its event here in the change's own
-- transaction; the outbox relay claims pending events, delivers them and
-- settles them as delivered or dead. seq is the commit order, which within
-- one invitation is the order of its changes (each change locks the
-- invitation's row, and SQLite has one writer).

CREATE TABLE events (
    -- The rowid: the largest so far plus one, as long as the newest event
    -- is never deleted (without AUTOINCREMENT's extra page per insert).
    seq             INTEGER PRIMARY KEY,
    id              BLOB    NOT NULL UNIQUE,
    type            TEXT    NOT NULL,
    organization_id BLOB    NOT NULL,
    invitation_id   BLOB    NOT NULL,
    actor_id        TEXT,
    occurred_at     INTEGER NOT NULL,
    -- The event's data, JSON kept byte for byte.
    data            TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts        INTEGER NOT NULL,
    -- The subscribers that have acknowledged the event, comma-separated.
    acked           TEXT    NOT NULL,
    last_error      TEXT    NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER
);

-- An organization's events, newest first.
CREATE INDEX events_organization ON events (organization_id, occurred_at, id);
-- The pending events, in commit order: what the relay claims.
CREATE INDEX events_pending ON events (seq) WHERE state = 'pending';
-- Whether an invitation has an older pending event.
CREATE INDEX events_pending_invitation ON events (invitation_id, seq) WHERE state = 'pending';
-- The dead letters.
CREATE INDEX events_dead ON events (occurred_at, id) WHERE state = 'dead';
