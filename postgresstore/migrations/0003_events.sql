-- +goose Up
-- The event log and its outbox (the same table as sqlitestore's). Every
-- change of an invitation appends its event here in the change's own
-- transaction; the outbox relay claims pending events (FOR UPDATE SKIP
-- LOCKED, so relays on many instances share them), delivers them and
-- settles them as delivered or dead. seq orders each invitation's events:
-- each change locks the invitation's row, so its events get increasing
-- numbers in the order they commit.

CREATE TABLE events (
    seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              uuid NOT NULL UNIQUE,
    type            text NOT NULL,
    organization_id uuid NOT NULL,
    invitation_id   uuid NOT NULL,
    actor_id        text,
    occurred_at     timestamptz NOT NULL,
    -- The event's data, JSON kept byte for byte (jsonb would reorder it).
    data            text NOT NULL,
    state           text NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts        integer NOT NULL,
    -- The subscribers that have acknowledged the event, comma-separated.
    acked           text NOT NULL,
    last_error      text NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    lease_owner     text,
    lease_until     timestamptz
);

-- An organization's events, newest first.
CREATE INDEX events_organization ON events (organization_id, occurred_at, id);
-- The pending events, in commit order: what the relay claims.
CREATE INDEX events_pending ON events (seq) WHERE state = 'pending';
-- Whether an invitation has an older pending event.
CREATE INDEX events_pending_invitation ON events (invitation_id, seq) WHERE state = 'pending';
-- The dead letters.
CREATE INDEX events_dead ON events (occurred_at, id) WHERE state = 'dead';
