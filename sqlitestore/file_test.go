package sqlitestore

import (
	"context"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/storetest"
)

// unprivileged runs the calling test as a user file permissions apply to.
// Root writes read-only files anyway, so as root it runs the test again in
// a copy of the test binary as nobody and reports true: the caller then
// returns, its outcome being the child's.
func unprivileged(t *testing.T) (ranInChild bool) {
	t.Helper()
	if os.Geteuid() != 0 {
		return false
	}
	if os.Getenv("SQLITESTORE_TEST_CHILD") != "" {
		t.Fatal("the child runs as root")
	}
	// The go build cache and the test's TempDir are 0700: nobody reads
	// the binary only from a directory of its own.
	dir, err := os.MkdirTemp("", "sqlitestore-unprivileged")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	bin := filepath.Join(dir, "sqlitestore.test")
	src, err := os.Open(os.Args[0])
	require.NoError(t, err)
	defer src.Close()
	dst, err := os.OpenFile(bin, os.O_WRONLY|os.O_CREATE, 0o755)
	require.NoError(t, err)
	_, err = io.Copy(dst, src)
	require.NoError(t, err)
	require.NoError(t, dst.Close())

	cmd := exec.Command(bin, "-test.run=^"+t.Name()+"$", "-test.v")
	cmd.Env = append(os.Environ(), "SQLITESTORE_TEST_CHILD=1", "HOME=/tmp", "TMPDIR=/tmp")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	t.Logf("as nobody:\n%s", out)
	require.NoError(t, err)
	return true
}

func TestOpenCreatesFileOwnerOnly(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "x.db")
	s := openStore(t, path)
	require.NoError(t, s.CreateInvitation(context.Background(), newInvitation(uuid.New(), "a@example.com", t0), t0, storetest.NewEvent(event.InvitationCreated)))
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(f)
		require.NoError(t, err)
		assert.Equal(t, fs.FileMode(0o600), st.Mode().Perm(), f)
	}
}

func TestOpenNamesMissingDirectory(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "nope")
	_, err := Open(context.Background(), filepath.Join(dir, "x.db"))
	require.ErrorIs(t, err, fs.ErrNotExist)
	assert.ErrorContains(t, err, "directory "+dir+" does not exist")
	_, err = os.Stat(dir)
	assert.ErrorIs(t, err, fs.ErrNotExist, "Open creates no directory")
}

func TestOpenRefusesReadOnly(t *testing.T) {
	if unprivileged(t) {
		return
	}
	t.Parallel()
	ctx := context.Background()
	for name, tc := range map[string]struct {
		setup func(dir, path string)
		want  string
	}{
		"read-only file": {func(dir, path string) { os.Chmod(path, 0o400) }, "file "},
		"read-only directory, existing file": {func(dir, path string) { os.Chmod(dir, 0o500) },
			"and SQLite creates the -wal and -shm files beside the database"},
		"read-only directory, new file": {func(dir, path string) { os.Remove(path); os.Chmod(dir, 0o500) },
			"the database file cannot be created in it"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			t.Cleanup(func() { os.Chmod(dir, 0o700) })
			path := filepath.Join(dir, "x.db")
			require.NoError(t, openStore(t, path).Close())
			tc.setup(dir, path)
			_, err := Open(ctx, path)
			require.ErrorIs(t, err, ErrReadOnly)
			assert.ErrorContains(t, err, tc.want)
			for _, f := range []string{path + "-wal", path + "-shm"} {
				_, err := os.Stat(f)
				assert.ErrorIs(t, err, fs.ErrNotExist, "a refused Open leaves no %s behind", f)
			}
		})
	}
}

// TestOpenAfterFixingMode: once the file's mode is fixed, the refused
// Open left nothing that keeps the database read-only.
func TestOpenAfterFixingMode(t *testing.T) {
	if unprivileged(t) {
		return
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), "x.db")
	require.NoError(t, openStore(t, path).Close())
	require.NoError(t, os.Chmod(path, 0o400))
	_, err := Open(context.Background(), path)
	require.ErrorIs(t, err, ErrReadOnly)
	require.NoError(t, os.Chmod(path, 0o600))
	s, err := Open(context.Background(), path)
	require.NoError(t, err)
	require.NoError(t, s.Close())
}
