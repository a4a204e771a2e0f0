// Package httpadapter serves invitation.Service, guest.Service and
// link.Service over HTTP, with the routes and wire shapes of the two APIs
// invitekit implements (join links in the organization API's style), and
// the organizations' events as an audit log.
//
// New returns a Handler, an http.Handler built on http.ServeMux with no
// router dependency. Mount it at the root of a server, or under a prefix:
//
//	mux.Handle("/invites/", http.StripPrefix("/invites", h))
//
// Location and Link headers, and the server URL of GET /openapi.json, use
// the path the client asked for, so they stay right under a prefix.
//
// # Organization routes
//
// The shapes of the ClickHouse Cloud API, whose clients require them: every
// success is 200 with {"status":200,"requestId":"<uuid>","result":...}
// (DELETE has no result), and every error is
// {"status":<code>,"error":"<message>","requestId":"<uuid>"} with the RFC
// 9457 members type, title and detail, and an errors array when fields are
// at fault, as application/problem+json.
//
//	GET    /v1/organizations/{organizationId}/invitations                       list: ?status= &email= &limit= &cursor=, Link rel="next"
//	POST   /v1/organizations/{organizationId}/invitations                       create {email, assignedRoleIds and/or role, metadata?}; the result has the token
//	POST   /v1/organizations/{organizationId}/invitations/bulk                  create 1 to 100: {invitations: [create, ...]}; one result per item
//	GET    /v1/organizations/{organizationId}/invitations/{invitationId}        get
//	DELETE /v1/organizations/{organizationId}/invitations/{invitationId}        delete
//	POST   /v1/organizations/{organizationId}/invitations/{invitationId}/revoke revoke
//	POST   /v1/organizations/{organizationId}/invitations/{invitationId}/resend resend, reviving an expired one; the result has the new token
//	POST   /v1/invitations/accept                                               accept {token, email}
//	GET    /v1/organizations/{organizationId}/events                            events: ?type= (repeatable) &limit= &cursor=, Link rel="next"
//
// With Config.Links set, the join link routes (package link), in the same
// style:
//
//	POST   /v1/organizations/{organizationId}/invite-links                      create {role and/or assignedRoleIds, maxUses, expireAt?, allowedDomains?}
//	GET    /v1/organizations/{organizationId}/invite-links                      list: ?limit= &cursor=, Link rel="next"
//	GET    /v1/organizations/{organizationId}/invite-links/{linkId}             get
//	POST   /v1/organizations/{organizationId}/invite-links/{linkId}/revoke      revoke
//	GET    /v1/organizations/{organizationId}/invite-links/{linkId}/redemptions redemptions: ?limit= &cursor=, Link rel="next"
//	POST   /v1/invite-links/redeem                                              redeem {token, email}
//
// The list returns up to 100 invitations (the most a page holds) when no
// limit is given, as ClickHouse clients, which know nothing of paging, read
// one page as the whole list; beyond that, each page's Link rel="next"
// header gives the next one. An explicit limit is 1 to 100.
//
// An invitation has the documented id, email, createdAt, expireAt,
// assignedRoles ([{roleId, roleName, roleType: system|custom}]) and role
// (deprecated upstream, still returned: left out only when the invitation
// assigns custom roles only), and the additive organizationId, status (the effective status: pending,
// accepted, revoked or expired), inviterId (the Principal ID that created
// it), sentAt, acceptedAt and revokedAt (null until then), metadata (the
// application's JSON object given at create, null when none), and token in
// the results of create and resend only.
//
// A bulk create answers 200 with one entry per item, in the request's
// order: {index, status: 200, result} with the invitation and its token, or
// {index, status, error, type, title, detail, errors?, retryAfter?} with the
// item's own failure as the create route would answer it (409, 422, or 429
// once the organization reaches a limit: the earlier items count). The
// items are created in one store transaction (invitation.Service.CreateMany):
// a store that fails answers 503 for the request and creates none of them.
// 0 or more than 100 items is a 422 naming invitations.
//
// A create assigns roles with assignedRoleIds, as ClickHouse's CLI sends
// them, with the deprecated role, or both (see invitation.CreateParams for
// the rules); an entry that is not a UUID, or not a role of the
// organization in the invitation service's role catalog
// (invitation.RoleCatalog), is a 422 naming it: assignedRoleIds[i].
//
// A link has id, organizationId, role (left out as on an invitation),
// assignedRoles, maxUses (1 to 10000), uses, allowedDomains (lowercase,
// each once; empty when any domain may redeem), createdAt, expireAt
// (7 days after the create unless it gives one, at most 365 days ahead),
// revokedAt, status (active, exhausted, expired or revoked, evaluated at
// the response) and token: every link route shows the token, which is
// what the organization shares. A redeem records a redemption {id,
// linkId, organizationId, email, role, assignedRoles, redeemedAt}, the
// result of the redeem and the entries of the redemptions list (newest
// first). One email redeems a link once (409 already-redeemed); a revoked
// or exhausted link is 409 (link-revoked, link-exhausted), an expired one
// 410 (link-expired); an email outside the link's allowedDomains, or the
// organization's domain policy (invitation.Config.AllowedDomains), is 403
// domain-not-allowed; a token that is not a link's, an invitation's
// included, is 404 invalid-token. The lists' limit is 1 to 100, 20 when
// absent. Every error of the link routes speaks of links.
//
// # Events
//
// With Config.Events set, GET /v1/organizations/{organizationId}/events
// lists the organization's events (package event), newest first: an audit
// log of every change to its invitations and to the guest invitations it
// hosts, and to its join links. The result is an array of events, each
// exactly its JSON in package event: {id, type, organizationId,
// invitationId, actorId, occurredAt, data}, data being the invitation in
// its API shape without a token (for invite_link.created and
// invite_link.revoked the link, for invite_link.redeemed the redemption,
// invitationId being the link's ID). The route is authorized as the invitation list is. Its parameters:
// limit, 1 to 100, 20 when absent; cursor, from the Link rel="next" header
// of the page before; and type, repeated for several types
// (?type=invitation.created&type=invitation.accepted). A comma does not
// separate types: "a,b" is one unknown type, refused with 422.
//
// The Handler puts the Principal ID of every authenticated request in the
// context it passes to the services (event.WithActor), so each event
// records who made the change as its actorId.
//
// # Accept hooks
//
// Config.AcceptInvitation runs on POST /v1/invitations/accept and
// Config.AcceptGuestInvitation on POST /guest-invitations/accept and
// POST /guest-invitations/{id}/accept, inside the store's transaction,
// after the invitation has moved to accepted and before anything commits;
// Config.RedeemLink on POST /v1/invite-links/redeem, after the link has
// taken the use (a refused redemption takes none and records nothing).
// The context they get carries the transaction of a store that has one
// (sqlitestore.Tx, postgresstore.Tx): an application writes its membership
// there, and it commits with the accept or not at all. A hook refuses by
// returning an error; the invitation then stays pending, its token still
// works, and no event is recorded. The error decides the response:
//
//   - a *Refusal: its Status (a 4xx; any other status is answered 403) and
//     its Detail, with the problem type accept-refused;
//   - a *store.ValidationError, a store sentinel error (store.ErrConflict,
//     store.ErrNotFound, ...) or ErrForbidden: answered as when the
//     services return them (422, 409, 404, 403);
//   - anything else, and a panic: a bug of the application, not of the
//     input, answered 500 with a generic message and logged.
//
// # Guest routes
//
// The shapes of the MyCreditApp API: snake_case, every documented field
// (nullable ones as null), lists as {"items":[...],"total_items":n}, and
// RFC 9457 errors {"type","title","status","detail","errors"} where errors
// is always an array of {"field","message"}, empty when no field is at
// fault. Every route but accept-by-token needs the Requester-Organization-ID
// and Target-Organization-ID headers; the target is the host organization.
//
//	POST   /guest-invitations               create {email, expired_at, parent_organization_id?, metadata?}: 201, Location
//	GET    /guest-invitations               list: ?statuses=(repeatable) &email= &expired= &archived= &order_by= &order= &limit= &offset=
//	GET    /guest-invitations/{id}          get
//	PATCH  /guest-invitations/{id}          {archived: bool}
//	POST   /guest-invitations/{id}/resend   optional {expired_at}; an expired invitation is revived
//	POST   /guest-invitations/{id}/accept   accept on the guest's behalf: accepted_by_system
//	POST   /guest-invitations/accept        {invitation_token}: accepted_by_guest
//
// A requester acting on another organization (the two headers differ,
// and Config.AuthorizeConnection allows the pair) may create, archive,
// unarchive, resend and accept that organization's invitations, but may
// not list or get them. Its responses show the outcome of the change it
// asked for, never the token: every response to a cross-organization
// request, create, PATCH (a no-op one included), resend and accept alike,
// is the invitation without invitation_token. The token is the guest's
// credential (whoever holds it accepts as the guest) and the secret the
// host sends; only the host organization itself reads it, on every
// response to its own requests, as documented. The rule is applied in one
// place for every guest route, and the OpenAPI document describes both
// bodies.
//
// GET /openapi.json serves the OpenAPI 3.1 document of the routes the
// Handler serves, without authentication.
//
// # Authentication and authorization
//
// Config.Authenticate identifies the Principal of every request but
// GET /openapi.json; APIKeys accepts API keys as HTTP Basic (key ID and
// secret) or Bearer (secret). Config.AuthorizeOrganization decides whether
// the principal may act for an organization (the path's organizationId, or
// the Requester-Organization-ID). A guest request whose target differs from
// its requester also needs Config.AuthorizeConnection to allow the pair;
// list and get are allowed for the organization itself only, and the
// responses to the other routes leave out invitation_token (see Guest
// routes). The two accept
// routes and the redeem route authorize no organization: the token is the
// credential for its invitation or link. The redeem route applies the
// organization accept's rule for a principal with an email: it redeems as
// that email, and a body naming another is 403 email-mismatch.
//
// # Errors
//
// One table maps errors to statuses. The type member is
// ProblemTypePrefix followed by the slug:
//
//	400 invalid-request          malformed JSON or query syntax, a body that is not UTF-8, a member of the wrong JSON type, trailing data, bad path/header UUID
//	401 unauthenticated          Authenticate failed (with WWW-Authenticate)
//	403 forbidden                an authorization hook refused, or a cross-organization list or get
//	403 email-mismatch           accept by a user whose email is not the invited one, or a redeem
//	                             whose body email is not the principal's
//	403 domain-not-allowed       redeem by an email outside the link's or organization's domains
//	404 not-found                no such route, invitation or link, or another organization's
//	404 invalid-token            no invitation (or, on redeem, link) matches the token (never says why)
//	405 method-not-allowed       with Allow
//	409 already-exists           an open invitation for the email exists
//	409 already-accepted         the invitation was accepted
//	409 revoked, archived        the invitation was revoked, or is archived
//	409 already-redeemed         the email already redeemed the link
//	409 link-revoked             the link was revoked (a redeem, or a second revoke)
//	409 link-exhausted           the link has no uses left
//	4xx accept-refused           an accept or redeem hook refused with a *Refusal, with the status it chose
//	410 expired                  accept of an expired invitation
//	410 link-expired             redeem of an expired link
//	413 body-too-large           body beyond Config.MaxBodyBytes
//	415 unsupported-media-type   a body without a JSON Content-Type
//	422 validation-failed        field values the adapter or the services reject; errors names each
//	429 limit-exceeded           the organization is at a limit (store.Limits): its open invitations
//	                             or its creates in the last hour; with Retry-After
//	500 internal                 anything else; the cause is logged, never shown
//	503 unavailable              the store is busy or unreachable (store.ErrUnavailable), or the
//	                             request's context was cancelled or timed out; with Retry-After
//
// Input is refused, never repaired. A body that is not valid UTF-8, or
// whose JSON escapes a lone UTF-16 surrogate (\ud800), is 400 on every
// route that reads one, before it is decoded: encoding/json would turn
// either into U+FFFD and the services would store text nobody sent. A
// query string url.ParseQuery refuses (a ';' separator, a bad escape such
// as %zz) is 400 naming the reason, on every route, those that read no
// parameter included, before anything changes; it is never cut down to
// the pairs that parse. A well-formed parameter a route does not read is
// ignored. An email goes through the
// services' email policy wherever it enters (create on both APIs, the
// organization accept and the organization list's email filter; the guest
// list's email is a substring search, refused only when it is not valid
// text): invisible or control characters, text not in Unicode NFC,
// address literals, localhost, single-label or IP domains and malformed
// labels are 422 naming email (invitation.EmailPolicy relaxes the domain
// rules for an intranet). Accept compares the body's email with the
// principal's in that normal form.
//
// A member of the right JSON type with a value that is not valid (an
// expired_at that is not an RFC 3339 date-time, a parent_organization_id
// that is not a UUID, a limit of 0) is a field error like those the
// services find: one 422 names every invalid field of the request, and the
// operation does not run (an invalid list queries nothing). Fields are
// named as the route's API spells them; the services name them in their
// own terms (invitation.FieldEmail, guest.FieldExpiredAt, ...), which the
// Handler translates. Unknown JSON members are ignored, as both source APIs
// do. Timestamps are RFC 3339 in UTC.
//
// Statuses (status on the organization routes, expired on the guest routes)
// are evaluated at one instant per response: a list page shows every item
// at the instant its filters used.
//
// # Logging
//
// The Handler logs what it cannot show the client (internal errors,
// recovered panics, failing hooks) to Config.Logger; LogRequests adds one
// structured log line per request.
//
// # Metrics
//
// The Handler records one OpenTelemetry metric through Config.MeterProvider
// (the global provider when nil, which records nothing until the
// application installs an SDK; the application chooses the exporter:
// Prometheus, OTLP, ...): the semantic conventions' HTTP server histogram
// http.server.request.duration, in seconds, under the scope
// github.com/invitekit/invitekit/httpadapter, with the attributes
//
//	http.request.method        GET, POST, ...; _OTHER for a method the conventions do not name
//	http.route                 the route's pattern, /v1/organizations/{organizationId}/invitations;
//	                           absent when no route matched (404, 405), so a client cannot add series
//	http.response.status_code  the status the Handler wrote: of the route, of its problem, of a recovered panic (500)
//	url.scheme                 http, or https when the request came over TLS to this server
//	error.type                 the status code again for a 5xx; "aborted" when the request ended in
//	                           http.ErrAbortHandler before any status was written
//
// The route is the Handler's own, without the prefix of an
// http.StripPrefix in front of it. Responses written by middleware in
// front of the Handler (a rate limiter's 429, say) do not reach it and are
// not counted. The attribute sets of every route and common status are
// built in New, so a measurement allocates little; with no SDK installed
// the Handler skips it altogether.
//
// The outbox relay (package outbox) records the events it delivers, the
// delivery lag and the dead events through a MeterProvider of its own
// Config.
package httpadapter
