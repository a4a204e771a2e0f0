package acceptpage_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"

	"github.com/google/uuid"

	"github.com/invitekit/invitekit/acceptpage"
	"github.com/invitekit/invitekit/invitation"
	"github.com/invitekit/invitekit/memstore"
)

// Mount the page where the invitation emails link to, show an invitation,
// and accept it with the page's form.
func Example() {
	ctx := context.Background()
	invitations, err := invitation.NewService(invitation.Config{
		Store: memstore.New(),
		Keys:  [][]byte{bytes.Repeat([]byte("k"), 32)}, // use a secret key
	})
	if err != nil {
		panic(err)
	}
	page, err := acceptpage.New(acceptpage.Config{Invitations: invitations})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/accept", page)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	inv, err := invitations.Create(ctx, invitation.CreateParams{
		OrganizationID: uuid.New(), Email: "ada@example.com", Role: "developer",
	})
	if err != nil {
		panic(err)
	}
	link := srv.URL + "/accept?token=" + url.QueryEscape(invitations.Token(inv))

	// What a person (or a link scanner) sees; nothing changes.
	resp, err := http.Get(link)
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.StatusCode, title(resp))

	// Pressing the button posts the form.
	resp, err = http.PostForm(link, url.Values{"token": {invitations.Token(inv)}, "email": {"ada@example.com"}})
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.StatusCode, title(resp))

	// The link again.
	resp, err = http.Get(link)
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.StatusCode, title(resp))
	// Output:
	// 200 You are invited
	// 200 Invitation accepted
	// 409 Invitation already accepted
}

var titleRE = regexp.MustCompile(`<title>([^<]*)</title>`)

func title(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := titleRE.FindSubmatch(b)
	if m == nil {
		return "(no title)"
	}
	return strings.TrimSpace(string(m[1]))
}
