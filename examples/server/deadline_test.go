package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestRequestsEndBeforeTheWriteTimeout: every request's context has a
// deadline well inside the server's write timeout, so a store that cannot
// finish is answered (503) while the client still listens.
func TestRequestsEndBeforeTheWriteTimeout(t *testing.T) {
	t.Parallel()
	var deadline time.Time
	var ok bool
	h := withDeadline(requestTimeout, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		deadline, ok = r.Context().Deadline()
	}))
	start := time.Now()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	assert.True(t, ok, "the request has a deadline")
	assert.WithinDuration(t, start.Add(requestTimeout), deadline, time.Second)
	assert.LessOrEqual(t, 2*requestTimeout, writeTimeout, "the write timeout leaves time to answer")
}
