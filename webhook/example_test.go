package webhook_test

import (
	"errors"
	"fmt"
	"log"
	"net/http"
	"strconv"
	"time"

	"github.com/invitekit/invitekit/webhook"
)

// A receiver verifies each request with the secret it shares with the
// sender, against the raw body, before it trusts anything in it.
func Example() {
	secret, err := webhook.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") // tests only: GenerateSecret makes a real one
	if err != nil {
		log.Fatal(err)
	}
	id, sent := "0194f0c2-7c1e-7d3a-9b1e-2f3a4b5c6d7e", time.Unix(1767366245, 0)
	body := []byte(`{"type":"invitation.created"}`)

	// What a Sender puts on the request.
	h := http.Header{}
	h.Set(webhook.HeaderID, id)
	h.Set(webhook.HeaderTimestamp, strconv.FormatInt(sent.Unix(), 10))
	h.Set(webhook.HeaderSignature, webhook.Sign(secret, id, sent, body))
	fmt.Println(h.Get(webhook.HeaderSignature))

	// What the receiver checks.
	fmt.Println("verified:", webhook.Verify(secret, h, body, sent.Add(time.Minute)) == nil)
	err = webhook.Verify(secret, h, []byte(`{"type":"invitation.accepted"}`), sent)
	fmt.Println("tampered:", errors.Is(err, webhook.ErrSignature))
	err = webhook.Verify(secret, h, body, sent.Add(time.Hour))
	fmt.Println("replayed:", errors.Is(err, webhook.ErrTimestamp))
	// Output:
	// v1,+AJwlcDrqv7jSFWAXhjME65sOFnH+UxTkR1UNzEHrZY=
	// verified: true
	// tampered: true
	// replayed: true
}
