// Command embed shows invitekit inside an existing application: the
// adapter is mounted under /invites/ of the application's own mux, beside
// its other routes, with memstore as the store.
//
//	go run ./examples/embed
//	curl -u demo:demo-secret http://localhost:8081/invites/v1/organizations/$(uuidgen)/invitations
package main

import (
	"crypto/rand"
	"log"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/httpadapter"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/link"
	"github.com/invitekit/invitekit/memstore"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	mux, err := newMux(logger)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: "localhost:8081", Handler: httpadapter.LogRequests(logger, mux), ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// newMux builds the application's mux: its own routes plus invitekit's
// under /invites/.
func newMux(logger *slog.Logger) (*http.ServeMux, error) {
	key := make([]byte, 32) // real applications load a fixed secret
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	store := memstore.New()
	orgs, err := invitation.NewService(invitation.Config{Store: store, Keys: [][]byte{key}})
	if err != nil {
		return nil, err
	}
	guests, err := guest.NewService(guest.Config{Store: store, Keys: [][]byte{key}})
	if err != nil {
		return nil, err
	}
	links, err := link.NewService(link.Config{Store: store, Invitations: orgs, Keys: [][]byte{key}})
	if err != nil {
		return nil, err
	}
	invites, err := httpadapter.New(httpadapter.Config{
		Invitations:  orgs,
		Guests:       guests,
		Links:        links,
		Authenticate: httpadapter.APIKeys(map[string]string{"demo": "demo-secret"}),
		Logger:       logger,
	})
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("/invites/", http.StripPrefix("/invites", invites))
	return mux, nil
}
