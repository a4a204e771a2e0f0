package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/store"
)

// healthz answers 200 while the process serves: a liveness probe.
func healthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
}

// readyz answers 200 when the store answers a query within two seconds,
// else 503 with Retry-After: a readiness probe, so a load balancer sends no
// requests to an instance whose database is gone. The cause is logged, not
// shown: the route needs no credentials.
func readyz(st backend, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		// No invitation has the nil ID: a store that answers says so.
		_, err := st.FindInvitation(ctx, uuid.Nil)
		w.Header().Set("Content-Type", "application/json")
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			logger.Warn("not ready: the store did not answer", "err", err)
			w.Header().Set("Retry-After", "5")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"status":"unavailable"}` + "\n"))
			return
		}
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
}
