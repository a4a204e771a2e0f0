package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/httpadapter"
)

// apiKey is one configured API key and the organizations it acts for.
type apiKey struct {
	id, secret string
	// orgs are the organizations the key acts for; every one when all is
	// set (written "@*").
	orgs map[uuid.UUID]bool
	all  bool
}

// apiKeys are the server's keys by ID.
type apiKeys map[string]apiKey

// secrets maps each key ID to its secret, as httpadapter.APIKeys takes them.
func (ks apiKeys) secrets() map[string]string {
	m := make(map[string]string, len(ks))
	for id, k := range ks {
		m[id] = k.secret
	}
	return m
}

// authorize is the httpadapter's AuthorizeOrganization hook: a key acts only
// for its organizations, the path's organization on the organization routes
// and the Requester-Organization-ID on the guest routes.
func (ks apiKeys) authorize(_ context.Context, p httpadapter.Principal, org uuid.UUID) error {
	k, ok := ks[p.ID]
	if ok && (k.all || k.orgs[org]) {
		return nil
	}
	return httpadapter.ErrForbidden
}

// parseAPIKeys parses the keys of INVITEKIT_API_KEYS (env, comma-separated)
// and of each -api-key flag (one key each). Every entry must be
// ID:SECRET@ORG[@ORG...] or ID:SECRET@*; anything else is an error that
// names the entry by its position, never by its text, which may hold a
// secret. Blanks around an entry are ignored, so a long list may be broken
// over lines after its commas; blanks inside one are an error, so that
// "a:b c:d" (a missing comma) is not read as the key a with secret "b c:d".
func parseAPIKeys(env string, flags []string) (apiKeys, error) {
	keys := apiKeys{}
	// Bearer authentication finds a key by its secret alone: two keys
	// sharing one would both act as the same one, whatever their scopes.
	secrets := map[string]string{}
	add := func(where, entry string) error {
		k, err := parseAPIKey(strings.TrimSpace(entry))
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if _, dup := keys[k.id]; dup {
			return fmt.Errorf("%s: API key ID %q is given twice", where, k.id)
		}
		if other, dup := secrets[k.secret]; dup {
			return fmt.Errorf("%s: key %q has the secret of key %q: give every key a secret of its own", where, k.id, other)
		}
		keys[k.id] = k
		secrets[k.secret] = k.id
		return nil
	}
	if env != "" {
		for i, entry := range strings.Split(env, ",") {
			if err := add(fmt.Sprintf("INVITEKIT_API_KEYS entry %d", i+1), entry); err != nil {
				return nil, err
			}
		}
	}
	for i, entry := range flags {
		if strings.Contains(entry, ",") {
			return nil, fmt.Errorf("-api-key %d: a comma: give -api-key once per key", i+1)
		}
		if err := add(fmt.Sprintf("-api-key %d", i+1), entry); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// errKeyFormat says what a key looks like.
var errKeyFormat = errors.New("want ID:SECRET@ORG (an organization UUID; repeat @ORG for several) or ID:SECRET@* for every organization; " +
	"a secret has no '@', ',' or blanks")

// parseAPIKey parses one entry. Its errors never quote the entry.
func parseAPIKey(entry string) (apiKey, error) {
	if entry == "" {
		return apiKey{}, fmt.Errorf("empty entry: %w", errKeyFormat)
	}
	if strings.IndexFunc(entry, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return apiKey{}, fmt.Errorf("blank or control character inside the entry (keys are separated by commas): %w", errKeyFormat)
	}
	id, rest, ok := strings.Cut(entry, ":")
	if !ok || id == "" {
		return apiKey{}, fmt.Errorf("no key ID before ':': %w", errKeyFormat)
	}
	parts := strings.Split(rest, "@")
	k := apiKey{id: id, secret: parts[0], orgs: map[uuid.UUID]bool{}}
	if k.secret == "" {
		return apiKey{}, fmt.Errorf("no secret after %q: %w", id+":", errKeyFormat)
	}
	if len(parts) == 1 {
		return apiKey{}, fmt.Errorf("key %q names no organization: %w", id, errKeyFormat)
	}
	for i, org := range parts[1:] {
		switch {
		case org == "*" && len(parts) == 2:
			k.all = true
		case org == "*":
			return apiKey{}, fmt.Errorf("key %q: @* stands alone, as it means every organization", id)
		case org == "":
			return apiKey{}, fmt.Errorf("key %q: organization %d is empty: %w", id, i+1, errKeyFormat)
		default:
			u, err := uuid.Parse(org)
			// Only the canonical form: uuid.Parse also reads braces,
			// urn:uuid: and bare hex.
			if err != nil || u.String() != strings.ToLower(org) {
				return apiKey{}, fmt.Errorf("key %q: organization %d is not a UUID: %w", id, i+1, errKeyFormat)
			}
			if k.orgs[u] {
				return apiKey{}, fmt.Errorf("key %q: organization %d is given twice", id, i+1)
			}
			k.orgs[u] = true
		}
	}
	return k, nil
}
