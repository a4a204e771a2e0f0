-- +goose Up
-- Aligns the schema with sqlitestore's: the same table and column names,
-- the same open-claim indexes and the same constraints in both stores (one
-- SQL core runs on both; the other indexes stay tuned to each planner).
-- Renames keep every row, every index and every constraint as they are.
--
-- Stop every instance of the older release before the first instance of
-- this one starts: the renamed columns fail the older code's statements.

ALTER TABLE invitations RENAME COLUMN org_id TO organization_id;
ALTER TABLE invitations RENAME COLUMN claims_open TO open_claim;
ALTER INDEX invitations_open_key RENAME TO invitations_open;

ALTER TABLE guest_invitations RENAME COLUMN host_id TO host_organization_id;
ALTER TABLE guest_invitations RENAME COLUMN claims_open TO open_claim;
ALTER INDEX guest_invitations_open_key RENAME TO guest_invitations_open;
