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
//
// # Metrics
//
// A Relay records OpenTelemetry metrics through the MeterProvider of its
// Config (the global one when nil, which records nothing until the
// application installs an SDK); the application chooses the exporter.
// Instruments, under the scope github.com/invitekit/invitekit/outbox:
//
//   - invitekit.outbox.events, a counter ({event}) with attributes type
//     (the event's type, invitation.created, ...) and outcome: delivered
//     (every subscriber has acknowledged it), retry (an attempt failed; it
//     is due again later) or dead. Each settlement the store takes counts
//     once, so an event counts once per attempt: a retried event counts
//     retry each time, then delivered or dead. An event put back untried
//     (at shutdown, or near its lease's end) is not counted, nor one whose
//     lease another relay took meanwhile: that relay counts it. Events are
//     counted here, where every recorded event passes, rather than where
//     the services record them: the count says what subscribers got.
//   - invitekit.outbox.lag, a gauge (s): the age of the oldest pending
//     event in the store, 0 when none is; rising lag means delivery falls
//     behind, or a subscriber keeps failing an invitation's first event.
//   - invitekit.outbox.dead_events, a gauge ({event}): the dead events in
//     the store, waiting for Retry.
//
// The two gauges are read from the store (StatsReader) at each collection
// while Run runs. They describe the whole store: relays that share one
// report the same values, so aggregate them with max, not sum.
package outbox
