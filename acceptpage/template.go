package acceptpage

import (
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"time"
)

//go:embed templates/page.html
var defaultText string

var defaultTemplate = template.Must(ParseTemplate(defaultText))

// ParseTemplate parses text as a page template with the functions the
// default template uses: date (a time as people read it, in UTC) and iso
// (RFC 3339, for a <time datetime>). The result must define "page".
func ParseTemplate(text string) (*template.Template, error) {
	return template.New("acceptpage").Funcs(template.FuncMap{
		"date": func(t time.Time) string { return t.UTC().Format("2 January 2006 at 15:04 UTC") },
		"iso":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	}).Parse(text)
}

// DefaultTemplate returns a new copy of the default template, to redefine
// a part of it (its "title" or "open" template) for Config.Template. (A
// parse, not a Clone: html/template cannot clone a template that has
// executed.)
func DefaultTemplate() *template.Template {
	return template.Must(ParseTemplate(defaultText))
}

// check renders t once for every state, so that a template naming a field
// Page lacks fails at New, not on a visitor's request.
func check(t *template.Template) error {
	if t.Lookup("page") == nil {
		return errors.New(`defines no "page" template`)
	}
	expires := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, s := range []State{StateOpen, StateAccepted, StateAlreadyAccepted, StateRevoked, StateWithdrawn,
		StateExpired, StateInvalid, StateForbidden, StateUnavailable, StateError} {
		for _, k := range []Kind{KindOrganization, KindGuest} {
			p := Page{State: s, Kind: k, OrganizationName: "Acme", InviterName: "Ada", Email: "ada@example.com",
				Role: "admin", ExpiresAt: expires, AcceptedAt: &expires, Token: "token", AskEmail: k == KindOrganization,
				Problem: "problem"}
			if err := t.ExecuteTemplate(io.Discard, "page", p); err != nil {
				return fmt.Errorf("rendering state %s of a %s invitation: %w", s, k, err)
			}
		}
	}
	return nil
}
