package httpadapter

import (
	"slices"

	"github.com/invitekit/invitekit/event"
)

// listEvents serves an organization's events, newest first, as the
// invitation list serves its invitations: the same authorization, the same
// envelope, the same cursor paging with a Link header. Each event is
// exactly its JSON in package event.
//
// The type filter is the parameter type, repeated for several types
// (?type=invitation.created&type=invitation.accepted), as the guest list's
// statuses is: the form style OpenAPI explodes by default. A comma is part
// of a value, so "a,b" is one unknown type, refused with 422.
func (h *Handler) listEvents(x *exchange) error {
	orgID, err := h.organization(x)
	if err != nil {
		return err
	}
	q := x.query()
	cursor, _ := q.str("cursor")
	limit, _ := q.limit(event.MaxLimit)
	if err := q.err(); err != nil {
		return err
	}
	opts := event.ListOptions{Types: eventTypes(q.values["type"]), Cursor: cursor, Limit: limit}
	if len(q.invalid) > 0 {
		return invalidRequest(x.api, q.invalid, opts.Validate())
	}
	page, err := h.events.List(x.ctx(), orgID, opts)
	if err != nil {
		return err
	}
	x.linkNext(page.Next)
	if page.Events == nil {
		page.Events = []event.Event{}
	}
	return x.result(page.Events)
}

// eventTypes returns the type parameters, each once, up to the first
// that is not an event type (the one the Log's verdict names): a query
// string can repeat a type thousands of times, and a store queries with one
// placeholder per type it is given. The result holds at most one more
// than the number of event types.
func eventTypes(values []string) []event.Type {
	var out []event.Type
	for _, v := range values {
		t := event.Type(v)
		if slices.Contains(out, t) {
			continue
		}
		out = append(out, t)
		if !t.Valid() {
			break
		}
	}
	return out
}
