package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"modernc.org/sqlite"
)

// ErrReadOnly is wrapped by the error Open returns when the store could not
// write to its database: the file, its -wal or -shm file, or the directory
// SQLite creates them in is read-only. The store writes on every change, so
// it refuses to open rather than fail every write later.
var ErrReadOnly = errors.New("sqlitestore: database is read-only")

// fileMode is the mode a new database file is created with. SQLite creates
// the -wal and -shm files with the mode of the database file, so they get
// it too: the file holds personal data (emails) and its events.
const fileMode = 0o600

// prepareFile checks that the directory of path exists and creates the
// database file with fileMode when there is none. A missing directory is
// named as such: SQLite says only "unable to open database file".
func prepareFile(path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return missingDirError(dir)
	}
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	// An empty file is an empty database. O_EXCL leaves a file another
	// process created meanwhile alone.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	switch {
	case err == nil:
		return f.Close()
	case errors.Is(err, fs.ErrExist):
		// Checked before SQLite opens the file: it would open it
		// read-only and create -wal and -shm files with its read-only
		// mode, which it cannot remove on close, so that the database
		// stayed unwritable after its own mode was fixed.
		return readOnlyFile(path)
	case denied(err):
		return fmt.Errorf("%w: directory %s is not writable, so the database file cannot be created in it", ErrReadOnly, dir)
	default:
		return err
	}
}

// missingDirError names the missing directory of a database file; it is
// fs.ErrNotExist.
type missingDirError string

func (e missingDirError) Error() string { return "directory " + string(e) + " does not exist" }
func (e missingDirError) Unwrap() error { return fs.ErrNotExist }

// checkWritable takes the file's write lock and runs a statement that
// writes nothing but needs write access: SQLite opens a file it may not
// write read-only without a word, and BEGIN IMMEDIATE alone succeeds on
// such a file. It commits an empty transaction. It updates invitations,
// which every version of the schema has, and not the migrations table,
// which a database goose migrated lacks.
func checkWritable(ctx context.Context, db *sql.DB) error {
	return immediateTx(ctx, db, func(conn *sql.Conn) error {
		_, err := conn.ExecContext(ctx, `UPDATE invitations SET id = id WHERE 0`)
		return err
	})
}

// sqliteCode returns the primary result code of SQLite's error in err's
// chain, or 0.
func sqliteCode(err error) int {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return 0
	}
	return e.Code() & 0xff
}

// explainReadOnly says which file or directory made SQLite fail with err
// (SQLITE_READONLY or SQLITE_CANTOPEN), by trying to write each, or returns
// err when none of them is read-only.
func explainReadOnly(path string, err error) error {
	if rerr := readOnlyFile(path); rerr != nil {
		return rerr
	}
	dir := filepath.Dir(path)
	probe, derr := os.CreateTemp(dir, ".sqlitestore-probe-*")
	if derr == nil {
		probe.Close()
		os.Remove(probe.Name())
		return err
	}
	if denied(derr) {
		return fmt.Errorf("%w: directory %s is not writable, and SQLite creates the -wal and -shm files beside the database", ErrReadOnly, dir)
	}
	return err
}

// readOnlyFile returns an error wrapping ErrReadOnly that names the
// database file, or its -wal or -shm file, when one exists and cannot be
// written.
func readOnlyFile(path string) error {
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		w, err := os.OpenFile(f, os.O_WRONLY, 0)
		if err == nil {
			w.Close()
			continue
		}
		if denied(err) {
			return fmt.Errorf("%w: file %s is not writable", ErrReadOnly, f)
		}
	}
	return nil
}

// denied reports whether err is a refusal to write: permissions, or a
// file system mounted read-only.
func denied(err error) bool {
	return errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS)
}
