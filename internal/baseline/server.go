package baseline

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// RequesterHeader is the only header the baseline reads: the organization
// whose invitations a request acts on. It is the header the invitekit
// guest routes read (with Target-Organization-ID, which the baseline
// ignores), so one request works against both servers.
const RequesterHeader = "Requester-Organization-ID"

// Page sizes of the list: the default, and the most a request gets.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// defaultExpiry is the expiry of a create whose body has no expired_at.
const defaultExpiry = 7 * 24 * time.Hour

// Invitation is a row of guest_invitations as the baseline writes and
// reads it, and its JSON: the displayed columns, as stored, without an
// envelope.
type Invitation struct {
	ID                     uuid.UUID       `json:"id"`
	HostOrganizationID     uuid.UUID       `json:"host_organization_id"`
	Email                  string          `json:"email"`
	FirstInvitationSentAt  time.Time       `json:"first_invitation_sent_at"`
	LastInvitationSentAt   time.Time       `json:"last_invitation_sent_at"`
	ExpiredAt              time.Time       `json:"expired_at"`
	Status                 string          `json:"status"`
	Archived               bool            `json:"archived"`
	CreatedAt              time.Time       `json:"created_at"`
	UpdatedAt              time.Time       `json:"updated_at"`
	AcceptedAt             *time.Time      `json:"accepted_at"`
	ArchivedAt             *time.Time      `json:"archived_at"`
	ParentOrganizationID   *uuid.UUID      `json:"parent_organization_id"`
	ParentOrganizationName *string         `json:"parent_organization_name"`
	Metadata               json.RawMessage `json:"metadata"`
	// nonce is written, never read: the row's secret, as every create
	// of an invitation makes one.
	nonce []byte
}

// List is the body of the list route.
type List struct {
	Items      []Invitation `json:"items"`
	TotalItems int          `json:"total_items"`
}

// database is what the handlers need of the table: one statement each.
type database interface {
	insert(ctx context.Context, inv *Invitation) error
	// get returns errNotFound when host has no invitation id.
	get(ctx context.Context, host, id uuid.UUID) (Invitation, error)
	// list returns host's newest limit invitations (created_at desc, id
	// desc) and how many host has in all.
	list(ctx context.Context, host uuid.UUID, limit int) ([]Invitation, int, error)
	close() error
}

var errNotFound = errors.New("baseline: not found")

// Server serves the three baseline routes on a database the invitekit
// store migrated:
//
//	POST /guest-invitations       {"email": ..., "expired_at": ...} -> 201 and the row
//	GET  /guest-invitations/{id}  -> 200 and the row, or 404
//	GET  /guest-invitations?limit=N -> 200, the newest N rows and the total
//
// Each request reads the Requester-Organization-ID header and runs one
// statement. Nothing is validated, authenticated, logged or measured. It is
// safe for concurrent use.
type Server struct {
	db  database
	mux *http.ServeMux
}

func newServer(db database) *Server {
	s := &Server{db: db, mux: http.NewServeMux()}
	s.mux.HandleFunc("POST /guest-invitations", s.create)
	s.mux.HandleFunc("GET /guest-invitations/{id}", s.get)
	s.mux.HandleFunc("GET /guest-invitations", s.list)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close closes the connections the Server opened (for a PostgreSQL pool
// passed to NewPostgres, nothing).
func (s *Server) Close() error { return s.db.close() }

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	host, ok := hostOf(w, r)
	if !ok {
		return
	}
	var body struct {
		Email     string    `json:"email"`
		ExpiredAt time.Time `json:"expired_at"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id, err := uuid.NewV7()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	inv := Invitation{
		ID: id, HostOrganizationID: host, Email: body.Email,
		FirstInvitationSentAt: now, LastInvitationSentAt: now, ExpiredAt: body.ExpiredAt.UTC().Truncate(time.Microsecond),
		Status: "sent", CreatedAt: now, UpdatedAt: now, nonce: make([]byte, 16),
	}
	if inv.ExpiredAt.IsZero() {
		inv.ExpiredAt = now.Add(defaultExpiry)
	}
	_, _ = rand.Read(inv.nonce) // never fails
	if err := s.db.insert(r.Context(), &inv); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusCreated, inv)
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	host, ok := hostOf(w, r)
	if !ok {
		return
	}
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		http.Error(w, "bad id", http.StatusBadRequest)
		return
	}
	inv, err := s.db.get(r.Context(), host, id)
	switch {
	case errors.Is(err, errNotFound):
		http.Error(w, "not found", http.StatusNotFound)
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
	default:
		writeJSON(w, http.StatusOK, inv)
	}
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	host, ok := hostOf(w, r)
	if !ok {
		return
	}
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit < 1 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	items, total, err := s.db.list(r.Context(), host, limit)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if items == nil {
		items = []Invitation{}
	}
	writeJSON(w, http.StatusOK, List{Items: items, TotalItems: total})
}

// hostOf reads the organization header, or answers 400.
func hostOf(w http.ResponseWriter, r *http.Request) (uuid.UUID, bool) {
	host, err := uuid.Parse(r.Header.Get(RequesterHeader))
	if err != nil {
		http.Error(w, "bad "+RequesterHeader, http.StatusBadRequest)
		return uuid.Nil, false
	}
	return host, true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// columns are the columns the baseline reads, in the order of scanDest.
const columns = `id, host_organization_id, email, first_invitation_sent_at, last_invitation_sent_at, expired_at,
	status, archived, created_at, updated_at, accepted_at, archived_at, parent_organization_id,
	parent_organization_name, metadata`

// insertColumns are the columns a create writes; the rest are NULL or
// their defaults. A new invitation is open, so it holds the claim on its
// host and email (open_claim) that the store's partial unique index
// checks.
const insertColumns = `id, host_organization_id, email, first_invitation_sent_at, last_invitation_sent_at, expired_at,
	status, archived, created_at, updated_at, nonce, open_claim`

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("baseline: %s: %w", op, err)
}
