package mail_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/invitekit/invitekit/event"
)

// BenchmarkSend measures one email: loading the invitation, rendering both
// parts, and a whole SMTP conversation (connect, EHLO, MAIL, RCPT, DATA,
// QUIT) with the in-process server on loopback, as the relay makes it for
// each event.
//
//	go test -run '^$' -bench Send ./mail/
func BenchmarkSend(b *testing.B) {
	f := newFixture(b, nil, nil)
	m := f.mailer(nil)
	for i := range 100 {
		f.createOrg(fmt.Sprintf("user%d@example.com", i))
	}
	evs := f.events(event.InvitationCreated)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := m.Send(ctx, evs[i%len(evs)]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "emails/s")
}
