package sqlitestore

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/storetest"
)

// crashChildEnv, when set to a database path, makes the test binary the
// child of TestCrashLosesNothingAcknowledged instead of running tests.
const crashChildEnv = "SQLITESTORE_CRASH_CHILD_DB"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		return
	}
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	if templateDir != "" {
		os.RemoveAll(templateDir)
	}
	os.Exit(code)
}

// crashChild creates invitations on four goroutines as fast as it can and
// prints "ack <id>" for each whose create has returned, until it is killed.
func crashChild(path string) {
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	org := uuid.New()
	var out sync.Mutex
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				now := time.Now().UTC().Truncate(time.Microsecond)
				inv := newInvitation(org, uuid.NewString()+"@example.com", now)
				if err := s.CreateInvitation(ctx, inv, now, storetest.NewEvent(event.InvitationCreated)); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				// One write per line, so a kill never leaves half an ID
				// that looks whole.
				out.Lock()
				os.Stdout.WriteString("ack " + inv.ID.String() + "\n")
				out.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestCrashLosesNothingAcknowledged kills a child process that is creating
// invitations at a random moment, several times over one file, and checks
// that every invitation whose create returned survived and the file is
// intact.
func TestCrashLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), "crash.db")
	total := 0
	for round := range 5 {
		acked := runAndKill(t, path, time.Duration(50+rand.IntN(250))*time.Millisecond)
		require.NotEmpty(t, acked, "round %d: the child acknowledged nothing before it was killed", round)
		total += len(acked)

		s := openStore(t, path)
		for _, id := range acked {
			_, err := s.FindInvitation(context.Background(), id)
			require.NoError(t, err, "round %d: acknowledged invitation %s", round, id)
		}
		var check string
		require.NoError(t, s.drv.read.db.QueryRow("PRAGMA integrity_check").Scan(&check))
		assert.Equal(t, "ok", check, "round %d", round)
		require.NoError(t, s.Close())
	}
	t.Logf("%d acknowledged invitations over 5 kills, all present", total)
}

// runAndKill runs the crash child on path, kills it with SIGKILL after it
// has acknowledged its first invitation and then run for d, and returns
// the IDs it acknowledged.
func runAndKill(t *testing.T, path string, d time.Duration) []uuid.UUID {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())

	var acked []uuid.UUID
	first := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			id, err := uuid.Parse(strings.TrimPrefix(sc.Text(), "ack "))
			if err != nil || !strings.HasPrefix(sc.Text(), "ack ") {
				continue
			}
			if acked = append(acked, id); len(acked) == 1 {
				close(first)
			}
		}
	}()
	select {
	case <-first:
		time.Sleep(d)
	case <-done:
	case <-time.After(30 * time.Second):
	}
	require.NoError(t, cmd.Process.Kill())
	<-done // everything the child wrote before it died is still in the pipe
	err = cmd.Wait()
	require.Error(t, err, "the child only stops when killed")
	require.Empty(t, stderr.String(), "the child failed")
	return acked
}

// TestConcurrentCreateAndAcceptNeverBusy runs 16 goroutines that create and
// accept invitations for two seconds against one file, through two stores
// as two processes would, so that writers also contend for SQLite's file
// lock. No error, SQLITE_BUSY included, may reach them.
func TestConcurrentCreateAndAcceptNeverBusy(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for two seconds")
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), "busy.db")
	services := make([]*invitation.Service, 2)
	for i := range services {
		var err error
		services[i], err = invitation.NewService(invitation.Config{Store: openStore(t, path), Keys: [][]byte{bytes.Repeat([]byte{7}, 32)}})
		require.NoError(t, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var (
		mu       sync.Mutex
		errs     []error
		accepted int
		wg       sync.WaitGroup
	)
	for i := range 16 {
		svc := services[i%len(services)]
		wg.Go(func() {
			org := uuid.New()
			for n := 0; ctx.Err() == nil; n++ {
				err := createAndAccept(svc, org, fmt.Sprintf("user%d@example.com", n))
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					accepted++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	assert.Empty(t, errs)
	assert.Positive(t, accepted)
	t.Logf("%d invitations created and accepted", accepted)
}

// createAndAccept creates an invitation and accepts it, without the
// deadline of the test's loop, so that an interrupted call is not mistaken
// for a failure.
func createAndAccept(svc *invitation.Service, org uuid.UUID, email string) error {
	ctx := context.Background()
	inv, err := svc.Create(ctx, invitation.CreateParams{OrganizationID: org, Email: email, Role: "member"})
	if err != nil {
		return err
	}
	_, err = svc.Accept(ctx, svc.Token(inv), email)
	return err
}
