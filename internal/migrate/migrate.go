// Package migrate loads a store's numbered schema migrations. Each SQL
// store embeds its migrations as files named NNNN_description.sql and
// applies them in order with its own locking; this package only reads and
// checks them, so the rules for naming and numbering are the same for all.
//
// The same files are exported (sqlitestore.Migrations,
// postgresstore.Migrations) for teams that run migrations with goose
// (github.com/pressly/goose/v3): each begins with the line "-- +goose Up",
// which the stores' own runner sends to the database with the rest, as the
// comment it is. Nothing checksums the files: the runner records only each
// version, its file name and when it was applied. A new migration must keep
// to what both runners do: one transaction per file, nothing outside its
// SQL, and "-- +goose StatementBegin" / "-- +goose StatementEnd" around any
// statement with a semicolon inside it (a function body, a DO block),
// which goose would otherwise split there.
package migrate

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
)

// Migration is one schema step.
type Migration struct {
	// Version is the number in the file name; versions run 1, 2, 3, ...
	Version int
	// Name is the file name.
	Name string
	// SQL is the file's content.
	SQL string
}

var fileName = regexp.MustCompile(`^(\d{4})_[a-z0-9_]+\.sql$`)

// Load reads every *.sql file in dir of fsys, ordered by version. Versions
// must start at 1 and have no gaps or repeats, so a missing file cannot go
// unnoticed.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("migrate: read %s: %w", dir, err)
	}
	var ms []Migration
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migrate: %s: name must look like 0001_description.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("migrate: read %s: %w", e.Name(), err)
		}
		ms = append(ms, Migration{Version: v, Name: e.Name(), SQL: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migrate: %s: expected version %d; versions must run 1, 2, 3 without gaps or repeats", m.Name, i+1)
		}
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("migrate: no migrations in %s", dir)
	}
	return ms, nil
}

// Latest returns the highest version in ms, 0 for none.
func Latest(ms []Migration) int {
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}
