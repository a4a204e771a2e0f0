// Package acceptpage is the web page behind the link an invitation email
// carries: an http.Handler an application mounts (the example server at
// /accept) that shows an invitation from the token in its query and
// accepts it when the person presses the button.
//
// A GET never changes anything. Link scanners, mail security gateways and
// chat previews fetch every link they see; a page that accepted on GET
// would consume invitations before their addressee saw them. GET calls the
// services' read-only Inspect and says plainly what the invitation is:
// open (who invites, to what role, until when), expired, revoked,
// withdrawn, already accepted, or not valid at all.
//
// A POST accepts. It is protected from cross-site request forgery by
// net/http's CrossOriginProtection (Sec-Fetch-Site and Origin checks, which
// every current browser sends), so another site cannot make a visitor's
// browser accept an invitation it holds the token of. The page works
// without JavaScript and uses none: a form, a label per field, a heading
// per state and an alert for errors.
//
// Organization invitations are accepted on behalf of a user whose email
// must match the invitation's. An application with signed-in users gives
// that user's verified email through Config.Email; without it the page
// asks for the address in the form and says why. Guest invitations need
// no email: their token is the guest's credential.
//
// The accept runs the application's hooks inside the store's transaction,
// as the HTTP adapter's accept routes do, so the membership row commits
// with the accept. The markup is an html/template the application may
// replace (Config.Template); the default is in templates/page.html.
package acceptpage
