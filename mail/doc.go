// Package mail emails invitations: a Mailer is an outbox subscriber that
// turns invitation events into messages sent over SMTP.
//
// What is sent when: invitation.created and invitation.resent email an
// organization invitation, guest_invitation.created and
// guest_invitation.resent a guest invitation, to the invited address,
// with a link to the application's accept page carrying the invitation's
// token (Config.AcceptURL?token=...). No other event sends anything.
//
// Why the invitation is read at send time: events never carry a token (a
// token in the outbox would be a credential in every webhook body and log),
// so the Mailer loads the invitation through its service and derives the
// token from what is stored now. The same read tells it when to stay
// quiet: an invitation deleted, accepted, revoked, archived or expired
// before its email went out gets none, and a created event that a resend
// overtook sends nothing, since the resend's own event sends the one link
// that still works.
//
// Delivery is at least once. The relay retries a failed send with backoff,
// so an SMTP server that is down loses nothing: its emails go out once it
// is back. The relay gives up on an event after outbox.Config.MaxAttempts
// failed attempts (by default 12, which with the default backoff is 35 to
// 70 minutes) and keeps it as a dead letter, which Relay.Dead lists and
// Relay.Retry sends again; raise MaxAttempts to ride out longer outages.
// The relay may also repeat a send that succeeded but was not recorded, so
// a recipient can, rarely, get the same email twice; both copies carry the
// same Message-ID, derived from the event ID. A recipient the server
// refuses for good (a 5xx reply to RCPT TO) is not retried: the event goes
// to the dead letters at once. Other 5xx replies are retried, since they
// may come of a server's configuration being fixed.
//
// Templates (text/template for the subject and plain text, html/template
// for HTML) are overridable; see Templates and Data.
package mail
