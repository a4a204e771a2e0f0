package postgresstore

import "strings"

// queries holds the store's fixed SQL, with the schema filled in once.
type queries struct {
	invitations, guests string

	invInsert, invRelease, invGet, invFind, invLock, invUpdate, invDelete, invForEmail string

	guestInsert, guestRelease, guestGet, guestFind, guestLock, guestUpdate, guestDelete string
}

const invColumns = `id, org_id, email, role, inviter_id, status, nonce, created_at, sent_at, expire_at, accepted_at, revoked_at`

const guestColumns = `id, host_id, email, first_invitation_sent_at, last_invitation_sent_at, expired_at, status, archived,
	created_at, updated_at, accepted_at, archived_at, parent_organization_id, parent_organization_name, nonce`

// newQueries returns the queries on the tables of schema, an identifier
// already quoted.
func newQueries(schema string) queries {
	q := queries{invitations: schema + ".invitations", guests: schema + ".guest_invitations"}
	r := strings.NewReplacer("{inv}", q.invitations, "{guest}", q.guests, "{invcols}", invColumns, "{guestcols}", guestColumns)

	q.invInsert = r.Replace(`INSERT INTO {inv} ({invcols}, claims_open)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`)
	// Releases the claim of an invitation of the (organization, email)
	// that is no longer open at $3, so that another one can open; see
	// migrations/0001_init.sql. The unique index allows at most one claim.
	// The predicate is Invitation.Open in full, not only its expiry: the
	// store's writes never leave a claim on a row that was not open, but a
	// row revoked behind its back (by hand, in SQL) would otherwise keep
	// its email blocked until it expired. It is sqlitestore's predicate.
	q.invRelease = r.Replace(`UPDATE {inv} SET claims_open = false
		WHERE org_id = $1 AND email = $2 AND claims_open AND id <> $4
		AND NOT (status = 'pending' AND expire_at > $3)`)
	q.invGet = r.Replace(`SELECT {invcols} FROM {inv} WHERE org_id = $1 AND id = $2`)
	q.invFind = r.Replace(`SELECT {invcols} FROM {inv} WHERE id = $1`)
	q.invLock = r.Replace(`SELECT {invcols} FROM {inv} WHERE org_id = $1 AND id = $2 FOR UPDATE`)
	q.invUpdate = r.Replace(`UPDATE {inv} SET role = $3, inviter_id = $4, status = $5, nonce = $6, sent_at = $7,
		expire_at = $8, accepted_at = $9, revoked_at = $10, claims_open = $11
		WHERE org_id = $1 AND id = $2 RETURNING {invcols}`)
	q.invDelete = r.Replace(`DELETE FROM {inv} WHERE org_id = $1 AND id = $2`)
	q.invForEmail = r.Replace(`SELECT {invcols} FROM {inv}
		WHERE email = $1 AND status = 'pending' AND expire_at > $2
		ORDER BY created_at DESC, id DESC LIMIT $3`)

	q.guestInsert = r.Replace(`INSERT INTO {guest} ({guestcols}, claims_open)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`)
	// As invRelease, with guest.Invitation.Open.
	q.guestRelease = r.Replace(`UPDATE {guest} SET claims_open = false
		WHERE host_id = $1 AND email = $2 AND claims_open AND id <> $4
		AND NOT (status = 'sent' AND NOT archived AND expired_at > $3)`)
	q.guestGet = r.Replace(`SELECT {guestcols} FROM {guest} WHERE host_id = $1 AND id = $2`)
	q.guestFind = r.Replace(`SELECT {guestcols} FROM {guest} WHERE id = $1`)
	q.guestLock = r.Replace(`SELECT {guestcols} FROM {guest} WHERE host_id = $1 AND id = $2 FOR UPDATE`)
	q.guestUpdate = r.Replace(`UPDATE {guest} SET first_invitation_sent_at = $3, last_invitation_sent_at = $4,
		expired_at = $5, status = $6, archived = $7, updated_at = $8, accepted_at = $9, archived_at = $10,
		parent_organization_id = $11, parent_organization_name = $12, nonce = $13, claims_open = $14
		WHERE host_id = $1 AND id = $2 RETURNING {guestcols}`)
	q.guestDelete = r.Replace(`DELETE FROM {guest} WHERE host_id = $1 AND id = $2`)
	return q
}
