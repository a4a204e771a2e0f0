package sqlcore

import (
	"context"
	"fmt"
	"slices"

	"github.com/invitekit/invitekit/store"
)

// GooseTable is the table goose (github.com/pressly/goose/v3) records its
// versions in unless told otherwise.
const GooseTable = "goose_db_version"

// VersionTable is a table in which a database records the migrations it
// has: the store's own (version, name, applied_at), as Migrate writes it,
// or goose's (id, version_id, is_applied, tstamp).
type VersionTable struct {
	// Name names the table in statements: quoted, and qualified, as the
	// store needs.
	Name string
	// Exists is the query whose one row says whether the table exists (a
	// boolean, or 0 or 1); it takes Args.
	Exists string
	Args   []any
	// Goose says the table is goose's.
	Goose bool
}

// AppliedVersions returns, in ascending order and without repeats, the
// versions above 0 that the tables record as applied, reading only: a
// table that does not exist records none. In the store's own table every
// row is an applied version. In goose's, a version is applied when its
// latest row (the highest id) says is_applied: goose's Provider deletes a
// version's rows when it migrates down, older goose releases inserted a
// row with is_applied false; and the row of version 0 that goose writes
// when it creates the table is no migration.
func AppliedVersions(ctx context.Context, q Querier, tables ...VersionTable) ([]int, error) {
	var versions []int
	for _, t := range tables {
		var exists bool
		if err := scanOne(ctx, q, t.Exists, t.Args, &exists); err != nil {
			return nil, fmt.Errorf("look for %s: %w", t.Name, err)
		}
		if !exists {
			continue
		}
		query := "SELECT version FROM " + t.Name
		if t.Goose {
			query = "SELECT g.version_id FROM " + t.Name + " g WHERE g.is_applied AND g.version_id > 0" +
				" AND g.id = (SELECT MAX(h.id) FROM " + t.Name + " h WHERE h.version_id = g.version_id)"
		}
		rows, err := q.Query(ctx, query)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", t.Name, err)
		}
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read %s: %w", t.Name, err)
			}
			versions = append(versions, v)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", t.Name, err)
		}
	}
	slices.Sort(versions)
	return slices.Compact(versions), nil
}

// CheckSchema checks, reading only, that the database is at exactly version
// latest, as recorded in the tables (see AppliedVersions; both the store's
// own table and goose's count, so a database may have been migrated by
// either, or by one and then the other). It fails with an error wrapping
// *store.SchemaTooNewError when a version above latest is applied, and
// with one wrapping *store.SchemaTooOldError, whose Database is the version
// up to which every migration is applied, when a version up to latest is
// missing (none applied, or a gap goose's out-of-order mode left).
func CheckSchema(ctx context.Context, q Querier, latest int, tables ...VersionTable) error {
	versions, err := AppliedVersions(ctx, q, tables...)
	if err != nil {
		return fmt.Errorf("schema check: %w", err)
	}
	if n := len(versions); n > 0 && versions[n-1] > latest {
		return fmt.Errorf("schema check: %w", &store.SchemaTooNewError{Database: versions[n-1], Supported: latest})
	}
	// versions is sorted and above 0: 1 to complete are all there when
	// the first complete entries are exactly 1 to complete.
	complete := 0
	for _, v := range versions {
		if v != complete+1 {
			break
		}
		complete = v
	}
	if complete < latest {
		return fmt.Errorf("schema check: %w", &store.SchemaTooOldError{Database: complete, Wanted: latest})
	}
	return nil
}
