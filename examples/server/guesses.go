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
// (a wrong or missing credential), and a 404 from the routes a token opens,
// which answer 404 only for a token that matches no invitation.
func guessFailed(r *http.Request, status int) bool {
	if status == http.StatusUnauthorized {
		return true
	}
	if status != http.StatusNotFound {
		return false
	}
	switch r.URL.Path {
	case "/v1/invitations/accept", "/guest-invitations/accept", "/v1/invite-links/redeem":
		return r.Method == http.MethodPost
	case "/accept":
		return true
	}
	return false
}
