// Package outbox delivers the events invitekit records to subscribers: a Go
// function, a webhook (package webhook), an email sender.
//
// Every state change appends its event in the same store transaction as the
// change, so the store is the outbox: nothing is lost between a commit and
// its delivery. A Relay reads that outbox. It claims due events with a lease,
// hands each to every subscriber that has not yet acknowledged it, and
// records the outcome:
//
//   - Delivery is at least once. A subscriber may see an event again (after a
//     crash, an expired lease, or a retry of a failure of another
//     subscriber): the event ID is the idempotency key.
//   - The events of one invitation are delivered in order: the store hands
//     out an invitation's next event only once the one before it is settled.
//     An event that goes dead stops holding its invitation back.
//   - A failed attempt is retried with exponential backoff and jitter. After
//     Config.MaxAttempts attempts, or at once when a subscriber returns a
//     Permanent error, the event goes dead; Relay.Dead lists dead events and
//     Relay.Retry makes one pending again.
//   - Each subscriber's acknowledgement is recorded, so a retry calls only
//     the subscribers that have not acknowledged the event.
//
// Many relays (in one process or many) can share one store: leases keep
// them from delivering the same event at the same time. Nothing runs until
// the application calls Run, which returns when its context ends.
package outbox
