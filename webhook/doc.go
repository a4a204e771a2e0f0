// Package webhook sends invitekit events as Standard Webhooks
// (https://www.standardwebhooks.com/) and verifies them on the receiving
// side.
//
// A Sender is an outbox subscriber: it POSTs the event's JSON with the
// headers webhook-id (the event ID, the receiver's idempotency key),
// webhook-timestamp (Unix seconds of the attempt) and webhook-signature
// ("v1," and the base64 HMAC-SHA256 of "id.timestamp.body", keyed with the
// secret's decoded bytes). Any 2xx response acknowledges the event.
//
// Receivers check a request with Verify (or a Verifier with its own
// tolerance) before trusting its body, and use webhook-id to drop repeats:
// delivery is at least once.
package webhook
