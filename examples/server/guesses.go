package main

import (
	"net/http"
	"time"

	"github.com/invitekit/invitekit/examples/server/internal/throttle"
)

// throttleGuesses wraps h so that an address that sends cfg.failures
// failed authentications or invalid tokens in a minute is answered 429
// until its budget refills: wrong secrets and token guesses get a few
// tries a minute instead of the server's full speed.
func throttleGuesses(h http.Handler, cfg config) (http.Handler, error) {
	c := throttle.Config{Failures: cfg.failures, Per: time.Minute, Failed: guessFailed}
	if cfg.trustProxy {
		c.ClientAddr = throttle.ForwardedAddr
	}
	l, err := throttle.New(c)
	if err != nil {
		return nil, err
	}
	return l.Handler(h), nil
}

// guessFailed tells the answers that spend an address's budget: every 401
// (a wrong or missing credential), and from the routes a token opens a 404,
// their answer to a token that matches no invitation, and a 403, their
// answer to an email other than the invitation's: whoever holds a leaked
// link may not try addresses at full speed either.
func guessFailed(r *http.Request, status int) bool {
	switch status {
	case http.StatusUnauthorized:
		return true
	case http.StatusNotFound, http.StatusForbidden:
		return opensWithToken(r)
	}
	return false
}

// opensWithToken tells the requests that carry an invitation token.
func opensWithToken(r *http.Request) bool {
	switch r.URL.Path {
	case "/v1/invitations/accept", "/guest-invitations/accept", "/v1/invite-links/redeem":
		return r.Method == http.MethodPost
	case "/accept":
		return true
	}
	return false
}
