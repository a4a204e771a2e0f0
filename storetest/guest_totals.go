package storetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/event"
	"github.com/invitekit/invitekit/guest"
	"github.com/invitekit/invitekit/store"
)

// guestTotalTests check total_items, which a store may keep in counters
// rather than count (the SQL stores do), against a count of the rows
// themselves after random changes of every kind.
var guestTotalTests = []test{
	{"GuestListTotalsAfterRandomChanges", func(t *testing.T, h *harness) {
		rng := rand.New(rand.NewPCG(15, 1))
		hosts := []uuid.UUID{newOrg(), newOrg()}
		for round := range 8 {
			for range 15 {
				h.randomGuestChange(rng, hosts[rng.IntN(len(hosts))])
			}
			if round%3 != 2 && round != 7 {
				continue
			}
			for _, host := range hosts {
				h.checkGuestTotals(t, host, fmt.Sprintf("round %d", round))
			}
		}
	}},
}

// randomGuestChange makes one change to host's invitations, of any kind a
// store supports, at the clock's time, which it may advance. Refusals
// (an email already open, a row gone) are part of the game.
func (h *harness) randomGuestChange(rng *rand.Rand, host uuid.UUID) {
	h.t.Helper()
	now := h.clock.Now()
	all, _ := h.listGuests(guest.ListQuery{HostOrganizationID: host, Now: now, OrderBy: guest.OrderByCreatedAt, Order: store.Asc, Limit: 1000})
	var pick guest.Invitation
	if len(all) > 0 {
		pick = all[rng.IntN(len(all))]
	}
	var err error
	switch op := rng.IntN(10); {
	case op < 4 || len(all) == 0:
		inv := h.newGuest(host, fmt.Sprintf("user%d@example%d.com", rng.IntN(12), rng.IntN(2)))
		inv.ExpiredAt = now.Add(time.Duration(rng.IntN(180)-30) * time.Minute)
		if rng.IntN(4) == 0 {
			inv.Archived, inv.ArchivedAt = true, &now
		}
		err = h.createGuestAt(h.ctx, inv, now)
	case op < 7:
		_, err = h.updateGuest(h.ctx, host, pick.ID, now, func(inv *guest.Invitation) error {
			inv.UpdatedAt = now
			switch rng.IntN(4) {
			case 0:
				inv.Status, inv.AcceptedAt = []guest.Status{guest.StatusAcceptedByGuest, guest.StatusAcceptedBySystem}[rng.IntN(2)], &now
			case 1:
				inv.Archived = !inv.Archived
				inv.ArchivedAt = nil
				if inv.Archived {
					inv.ArchivedAt = &now
				}
			default: // a resend, which may revive it
				inv.LastInvitationSentAt = now
				inv.ExpiredAt = now.Add(time.Duration(rng.IntN(120)+1) * time.Minute)
				inv.ExpiryRecorded = false
			}
			return nil
		})
	case op < 8:
		err = h.deleteGuest(h.ctx, host, pick.ID)
	case op < 9:
		_, err = h.gstore.ExpireGuestInvitations(h.ctx, now, rng.IntN(5)+1, func(guest.Invitation) (event.Event, error) {
			return NewEvent(event.GuestInvitationExpired), nil
		})
	default:
		_, err = h.gstore.PurgeGuestInvitations(h.ctx, now.Add(-time.Hour), rng.IntN(3)+1)
	}
	if err != nil && !errors.Is(err, store.ErrAlreadyExists) && !errors.Is(err, store.ErrNotFound) {
		require.NoError(h.t, err)
	}
	h.clock.Advance(time.Duration(rng.IntN(20)) * time.Minute)
}

// checkGuestTotals compares the total of every combination of filters with
// the number of host's invitations that match it, at the clock's time and
// at an instant behind it (an instance whose clock is behind the sweep's).
func (h *harness) checkGuestTotals(t *testing.T, host uuid.UUID, when string) {
	t.Helper()
	yes, no := true, false
	bools := []*bool{nil, &yes, &no}
	statuses := [][]guest.Status{nil, {guest.StatusSent}, {guest.StatusAcceptedByGuest}, {guest.StatusAcceptedBySystem},
		{guest.StatusAcceptedByGuest, guest.StatusSent}}
	for _, now := range []time.Time{h.clock.Now(), h.clock.Now().Add(-40 * time.Minute)} {
		all, total := h.listGuests(guest.ListQuery{HostOrganizationID: host, Now: now, OrderBy: guest.OrderByCreatedAt, Order: store.Asc, Limit: 1000})
		require.Equal(t, len(all), total, "%s: every invitation", when)
		for _, st := range statuses {
			for _, expired := range bools {
				for _, archived := range bools {
					for _, email := range []string{"", "ser1"} {
						if email != "" && st != nil {
							continue // a search counts its matches, whatever the other filters
						}
						q := guest.ListQuery{HostOrganizationID: host, Statuses: st, Expired: expired, Archived: archived,
							EmailContains: email, Now: now, OrderBy: guest.OrderByEmail, Order: store.Desc, Limit: 1}
						want := len(expect(q, all))
						_, got := h.listGuests(q)
						assert.Equal(t, want, got, "%s: %s", when, describe(q))
						if st == nil {
							q.Offset = 1000 // past the last: the total alone
							_, got = h.listGuests(q)
							assert.Equal(t, want, got, "%s past the end: %s", when, describe(q))
						}
					}
				}
			}
		}
	}
}

func describe(q guest.ListQuery) string {
	s := fmt.Sprintf("statuses=%v email=%q", q.Statuses, q.EmailContains)
	if q.Expired != nil {
		s += fmt.Sprintf(" expired=%t", *q.Expired)
	}
	if q.Archived != nil {
		s += fmt.Sprintf(" archived=%t", *q.Archived)
	}
	return s
}
