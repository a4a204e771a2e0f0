package httpadapter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/httpadapter"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/memstore"
)

// Serve both APIs under /invites/ in an existing mux, with one API key,
// then create an organization invitation as a ClickHouse client would.
func Example() {
	st := memstore.New()
	defer st.Close()
	keys := [][]byte{bytes.Repeat([]byte("k"), 32)} // use 32 random bytes
	invitations, err := invitation.NewService(invitation.Config{Store: st, Keys: keys})
	if err != nil {
		log.Fatal(err)
	}
	guests, err := guest.NewService(guest.Config{Store: st, Keys: keys})
	if err != nil {
		log.Fatal(err)
	}
	h, err := httpadapter.New(httpadapter.Config{
		Invitations:  invitations,
		Guests:       guests,
		Authenticate: httpadapter.APIKeys(map[string]string{"key-1": "s3cret-s3cret"}),
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/invites/", http.StripPrefix("/invites", h))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	body := strings.NewReader(`{"email":"Ada@Example.com","role":"admin"}`)
	req, _ := http.NewRequest(http.MethodPost,
		srv.URL+"/invites/v1/organizations/0190f0a0-0000-7000-8000-000000000001/invitations", body)
	req.SetBasicAuth("key-1", "s3cret-s3cret")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var envelope struct {
		Status int `json:"status"`
		Result struct {
			Email  string `json:"email"`
			Status string `json:"status"`
			Token  string `json:"token"`
		} `json:"result"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&envelope); err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode, envelope.Status, envelope.Result.Email, envelope.Result.Status, envelope.Result.Token != "")
	// Output: 200 200 ada@example.com pending true
}

// Errors are RFC 9457 problems; a guest request without the organization
// headers names each one.
func Example_errors() {
	st := memstore.New()
	defer st.Close()
	guests, err := guest.NewService(guest.Config{Store: st, Keys: [][]byte{bytes.Repeat([]byte("k"), 32)}})
	if err != nil {
		log.Fatal(err)
	}
	h, err := httpadapter.New(httpadapter.Config{
		Guests:       guests,
		Authenticate: httpadapter.APIKeys(map[string]string{"key-1": "s3cret-s3cret"}),
	})
	if err != nil {
		log.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/guest-invitations", nil)
	req.Header.Set("Authorization", "Bearer s3cret-s3cret")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	fmt.Println(rec.Body.String())
	// Output:
	// 400 application/problem+json
	// {"type":"urn:invitekit:problem:invalid-request","title":"Invalid request","status":400,"detail":"missing or malformed organization headers","errors":[{"field":"Requester-Organization-ID","message":"is required"},{"field":"Target-Organization-ID","message":"is required"}]}
}

// Serve the events of organizations as an audit log, and let the
// application take part in accepting: the hook runs inside the store's
// transaction (with sqlitestore or postgresstore, write the membership
// through sqlitestore.Tx(ctx) or postgresstore.Tx(ctx)), and a refusal
// leaves the invitation pending.
func Example_eventsAndAcceptHook() {
	st := memstore.New()
	defer st.Close()
	invitations, err := invitation.NewService(invitation.Config{Store: st, Keys: [][]byte{bytes.Repeat([]byte("k"), 32)}})
	if err != nil {
		log.Fatal(err)
	}
	freeSeats := 0
	h, err := httpadapter.New(httpadapter.Config{
		Invitations:  invitations,
		Events:       st,
		Authenticate: httpadapter.APIKeys(map[string]string{"key-1": "s3cret-s3cret"}),
		AcceptInvitation: func(ctx context.Context, p httpadapter.Principal, inv invitation.Invitation) error {
			if freeSeats == 0 {
				return &httpadapter.Refusal{Status: http.StatusPaymentRequired, Detail: "the plan has no free seat"}
			}
			freeSeats--
			return nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	call := func(method, path, body string, out any) int {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.SetBasicAuth("key-1", "s3cret-s3cret")
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			log.Fatal(err)
		}
		return rec.Code
	}
	const org = "/v1/organizations/0190f0a0-0000-7000-8000-000000000001"
	var created struct {
		Result struct{ Token string } `json:"result"`
	}
	call(http.MethodPost, org+"/invitations", `{"email":"ada@example.com","role":"admin"}`, &created)
	accept := `{"token":"` + created.Result.Token + `","email":"ada@example.com"}`

	var refused struct{ Detail string }
	fmt.Println(call(http.MethodPost, "/v1/invitations/accept", accept, &refused), refused.Detail)
	freeSeats = 1
	var accepted struct {
		Result struct{ Status string } `json:"result"`
	}
	fmt.Println(call(http.MethodPost, "/v1/invitations/accept", accept, &accepted), accepted.Result.Status)

	var events struct {
		Result []struct {
			Type    string
			ActorID *string
		} `json:"result"`
	}
	call(http.MethodGet, org+"/events?type=invitation.created&type=invitation.accepted", "", &events)
	for _, ev := range events.Result {
		fmt.Println(ev.Type, *ev.ActorID)
	}
	// Output:
	// 402 the plan has no free seat
	// 200 accepted
	// invitation.accepted key-1
	// invitation.created key-1
}
