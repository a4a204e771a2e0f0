-- +goose Up
-- The roles an organization invitation assigns (ClickHouse's assignedRoles):
-- a JSON array of {"id", "name", "type"}, the catalog's answer at create,
-- kept as a snapshot so reads need no catalog. "[]" when the invitation
-- assigns none. It is text, as in sqlitestore, so it reads back byte for
-- byte. Rows written by earlier releases stay NULL: the store reads them as
-- the roles a create with their role assigns today (the system role admin
-- or developer, or none), so that rule lives in Go, once, for both stores.
-- Adding a nullable column without a default rewrites no row.

ALTER TABLE invitations ADD COLUMN assigned_roles text;
