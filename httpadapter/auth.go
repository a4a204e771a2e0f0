package httpadapter

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"slices"
	"strings"
)

// Principal is who a request acts for, as the Authenticate hook identifies
// it. The Handler passes it to the authorization hooks and never interprets
// ID itself.
type Principal struct {
	// ID names the principal in the caller's own terms: an API key ID, a
	// user ID. The organization routes record it as the inviter of the
	// invitations it creates (inviterId).
	ID string
	// Email, when set, is the principal's verified email address. The
	// organization accept route then accepts on behalf of this address: a
	// body email may be left out, and one that names another address is
	// refused with 403. Leave it empty for principals that are not people,
	// such as API keys; the body email is then required.
	Email string
}

// Errors the hooks of Config return.
var (
	// ErrUnauthenticated is what an Authenticate hook returns for missing
	// or invalid credentials. Any error from Authenticate is answered 401
	// with a WWW-Authenticate challenge; errors that are not this one are
	// also logged, as they usually mean the hook itself failed.
	ErrUnauthenticated = errors.New("httpadapter: missing or invalid credentials")

	// ErrForbidden is what an authorization hook returns to refuse a
	// request: answered 403. Any other error from a hook is answered 500
	// and logged.
	ErrForbidden = errors.New("httpadapter: forbidden")
)

// challenge is the WWW-Authenticate value of every 401: both schemes
// APIKeys accepts.
const challenge = `Basic realm="invitekit", Bearer realm="invitekit"`

// apiKey is one key of APIKeys, its secret kept only as a SHA-256 digest so
// comparisons take the same time whatever the secret's length.
type apiKey struct {
	id     string
	digest [sha256.Size]byte
}

// APIKeys returns an Authenticate hook that accepts the API keys in keys,
// which maps key IDs to secrets, in two forms:
//
//   - HTTP Basic with the key ID as user name and the secret as password,
//     as the ClickHouse Cloud API authenticates;
//   - "Authorization: Bearer <secret>".
//
// The Principal's ID is the key ID. Secrets are compared in constant time,
// and an unknown key ID costs the same comparison as a known one, so timing
// reveals neither. Keys with an empty ID or secret are ignored, and a key ID
// containing ':' works only with Bearer (Basic cannot carry it). Secrets
// should be distinct and long and random: with Bearer, a secret shared by
// two keys authenticates as the smaller key ID. keys is copied, so later
// changes to the map have no effect.
func APIKeys(keys map[string]string) func(*http.Request) (Principal, error) {
	var list []apiKey
	for id, secret := range keys {
		if id == "" || secret == "" {
			continue
		}
		list = append(list, apiKey{id: id, digest: sha256.Sum256([]byte(secret))})
	}
	slices.SortFunc(list, func(a, b apiKey) int { return strings.Compare(a.id, b.id) })
	return func(r *http.Request) (Principal, error) {
		if id, secret, ok := r.BasicAuth(); ok {
			return matchBasic(list, id, secret)
		}
		scheme, secret, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return matchBearer(list, strings.TrimSpace(secret))
		}
		return Principal{}, ErrUnauthenticated
	}
}

// matchBasic finds the key id and checks its secret. An unknown id is
// compared against a digest no secret has, to spend the same time.
func matchBasic(keys []apiKey, id, secret string) (Principal, error) {
	digest := sha256.Sum256([]byte(secret))
	want := [sha256.Size]byte{}
	known := 0
	for _, k := range keys {
		if k.id == id {
			want, known = k.digest, 1
		}
	}
	if subtle.ConstantTimeCompare(digest[:], want[:])&known == 1 {
		return Principal{ID: id}, nil
	}
	return Principal{}, ErrUnauthenticated
}

// matchBearer compares secret with every key, without stopping at the
// first match, and returns the first key that matched.
func matchBearer(keys []apiKey, secret string) (Principal, error) {
	if secret == "" {
		return Principal{}, ErrUnauthenticated
	}
	digest := sha256.Sum256([]byte(secret))
	found := -1
	for i, k := range keys {
		if subtle.ConstantTimeCompare(digest[:], k.digest[:]) == 1 && found < 0 {
			found = i
		}
	}
	if found < 0 {
		return Principal{}, ErrUnauthenticated
	}
	return Principal{ID: keys[found].id}, nil
}
