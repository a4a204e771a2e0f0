package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestGuessFailed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		method, target string
		status         int
		want           bool
	}{
		{"GET", "/v1/organizations/x/invitations", http.StatusUnauthorized, true},
		{"GET", "/openapi.json", http.StatusUnauthorized, true},
		{"POST", "/v1/invitations/accept", http.StatusNotFound, true},
		{"POST", "/v1/invitations/accept?x=1", http.StatusNotFound, true},
		{"POST", "/v1/invitations/accept", http.StatusForbidden, true},
		{"POST", "/guest-invitations/accept", http.StatusNotFound, true},
		{"GET", "/accept?token=x", http.StatusNotFound, true},
		{"HEAD", "/accept?token=x", http.StatusNotFound, true},
		{"POST", "/accept", http.StatusForbidden, true},
		{"POST", "/v1/invitations/accept", http.StatusGone, false},
		{"POST", "/v1/invitations/accept", http.StatusOK, false},
		{"GET", "/v1/organizations/x/invitations/y", http.StatusNotFound, false},
		{"GET", "/v1/organizations/x/invitations", http.StatusForbidden, false},
		{"GET", "/guest-invitations/y", http.StatusNotFound, false},
	} {
		r := httptest.NewRequest(tc.method, tc.target, nil)
		assert.Equal(t, tc.want, guessFailed(r, tc.status), "%s %s %d", tc.method, tc.target, tc.status)
	}
}
