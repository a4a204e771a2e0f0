package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
)

const minKeyBytes = 32

// tokenKey returns the token signing key: INVITEKIT_TOKEN_KEY when set,
// else the key in keyFile, created with fresh random bytes and mode 0600 on
// first start. An empty keyFile means there is nowhere to keep a key (an
// in-memory store): a random key lives as long as the process, and so do
// the invitations it signs. created reports a new key file.
func tokenKey(env, keyFile string) (key []byte, created bool, err error) {
	if env != "" {
		key, err := decodeKey(env)
		if err != nil {
			return nil, false, fmt.Errorf("INVITEKIT_TOKEN_KEY: %w", err)
		}
		return key, false, nil
	}
	if keyFile == "" {
		key := make([]byte, minKeyBytes)
		_, err := rand.Read(key)
		return key, false, err
	}
	b, err := os.ReadFile(keyFile)
	if err == nil {
		if err := checkKeyFileMode(keyFile); err != nil {
			return nil, false, err
		}
		key, err := decodeKey(string(b))
		if err != nil {
			return nil, false, fmt.Errorf("key file %s: %w", keyFile, err)
		}
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("read key file: %w", err)
	}
	key = make([]byte, minKeyBytes)
	if _, err := rand.Read(key); err != nil {
		return nil, false, err
	}
	// O_EXCL: if another process created the file meanwhile, use neither
	// key silently; fail and let the operator restart.
	f, err := os.OpenFile(keyFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("create key file: %w", err)
	}
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, false, fmt.Errorf("write key file: %w", werr)
	}
	return key, true, nil
}

func decodeKey(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, errors.New("not standard base64")
	}
	if len(key) < minKeyBytes {
		return nil, fmt.Errorf("%d bytes, want at least %d", len(key), minKeyBytes)
	}
	return key, nil
}

// checkKeyFileMode refuses a key file others can read, as ssh does.
func checkKeyFileMode(name string) error {
	st, err := os.Stat(name)
	if err != nil {
		return err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("key file %s is readable by others (mode %v): chmod 600 it", name, st.Mode().Perm())
	}
	return nil
}

// loadTokenKey returns the token key cfg and keyFile name (see tokenKey),
// refusing to create a key file beside a database that holds invitations
// unless cfg.rotateTokenKey says to: their links were signed with the lost
// key, and a new one silently breaks every one of them.
func loadTokenKey(ctx context.Context, cfg config, keyFile string, logger *slog.Logger) ([]byte, error) {
	lost := false
	if cfg.tokenKey == "" && keyFile != "" {
		if _, err := os.Stat(keyFile); errors.Is(err, fs.ErrNotExist) {
			if lost, err = holdsInvitations(ctx, cfg.db); err != nil {
				return nil, fmt.Errorf("check %s for invitations: %w", cfg.db, err)
			}
		}
	}
	if lost && !cfg.rotateTokenKey {
		return nil, fmt.Errorf("the token key file %s is missing, but the database %s holds invitations signed with it: "+
			"restore the file from a backup, or start with -rotate-token-key to create a new key, "+
			"which makes every invitation link and token already sent invalid", keyFile, cfg.db)
	}
	key, created, err := tokenKey(cfg.tokenKey, keyFile)
	if err != nil {
		return nil, err
	}
	switch {
	case lost:
		logger.Warn("created a new token signing key (-rotate-token-key): every invitation link and token sent before is now invalid; "+
			"resend the invitations still wanted", "file", keyFile)
	case created:
		logger.Info("created token signing key file; back it up with the database", "file", keyFile)
	case cfg.rotateTokenKey && (cfg.tokenKey != "" || keyFile == ""):
		logger.Warn("-rotate-token-key has no effect: the token key is not kept in a file (INVITEKIT_TOKEN_KEY is set, or -db is :memory:)")
	case cfg.rotateTokenKey:
		logger.Warn("-rotate-token-key has no effect: the token key file exists; to rotate, move it away first", "file", keyFile)
	}
	return key, nil
}

// holdsInvitations reports whether the SQLite database at path holds an
// invitation of either kind. The store's interfaces list by organization
// only, so it asks the file itself, read-only.
func holdsInvitations(ctx context.Context, path string) (bool, error) {
	db, err := sql.Open("sqlite", "file:"+strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)+"?mode=ro")
	if err != nil {
		return false, err
	}
	defer db.Close()
	var found bool
	err = db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM invitations) OR EXISTS (SELECT 1 FROM guest_invitations)`).Scan(&found)
	return found, err
}
