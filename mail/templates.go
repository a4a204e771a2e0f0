package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"strings"
	texttemplate "text/template"
	"time"
)

// Kind says which kind of invitation an email is about.
type Kind string

// Kinds of invitation.
const (
	// KindOrganization is an organization invitation (package
	// invitation): the invitee joins the organization with a role.
	KindOrganization Kind = "organization"
	// KindGuest is a guest invitation (package guest): the invitee
	// becomes a guest of the host organization.
	KindGuest Kind = "guest"
)

// Data is what the templates see. It holds no token of its own: the token
// is only ever inside Link, so a template cannot show it anywhere else by
// accident.
type Data struct {
	// Kind is KindOrganization or KindGuest; templates compare it with
	// eq .Kind "guest".
	Kind Kind
	// OrganizationName is the display name of the inviting organization
	// (the host organization of a guest invitation), as Config.Names
	// gives it. It is empty when there is no Names or Names does not know
	// the organization: the default templates then say "an
	// organization", which is true and reveals nothing wrong.
	OrganizationName string
	// InviterName is the display name of who sent an organization
	// invitation, from Config.Names; empty for guest invitations, for
	// invitations without an inviter, and when Names does not know the
	// inviter.
	InviterName string
	// Role is the role an organization invitation grants; empty for
	// guest invitations.
	Role string
	// Email is the invited address, the email's recipient.
	Email string
	// ExpiresAt is when the link stops working, in UTC.
	ExpiresAt time.Time
	// Link is Config.AcceptURL with the invitation's token added as the
	// query parameter token.
	Link string
	// Resend reports that the invitation was resent: the link replaces
	// the one of any earlier email, which no longer works.
	Resend bool
}

// Templates render an email: a subject and a plain text body with
// text/template, an HTML body with html/template, which escapes every
// value for its context (so an organization named "<script>" is shown,
// not run). All three see a Data. Templates are safe for concurrent use.
type Templates struct {
	subject *texttemplate.Template
	text    *texttemplate.Template
	html    *htmltemplate.Template
}

// The file names ParseFS reads; the defaults are embedded under the same
// names.
const (
	SubjectFile = "subject.tmpl"
	TextFile    = "text.tmpl"
	HTMLFile    = "html.tmpl"
)

//go:embed templates/*.tmpl
var embedded embed.FS

// defaults is parsed once: the embedded texts are known to be valid, and
// every Mailer without Templates shares them.
var defaults = func() *Templates {
	var texts [3]string
	for i, name := range []string{SubjectFile, TextFile, HTMLFile} {
		b, err := embedded.ReadFile("templates/" + name)
		if err != nil {
			panic(err)
		}
		texts[i] = string(b)
	}
	t, err := parse(Templates{}, texts[0], texts[1], texts[2])
	if err != nil {
		panic(err)
	}
	return t
}()

// DefaultTemplates returns the embedded templates, which Config.Templates
// nil stands for: a short, neutral invitation in English.
func DefaultTemplates() *Templates { return defaults }

// NewTemplates parses the given template texts: subject and text with
// text/template, html with html/template. An empty text keeps the default
// of its part, so overriding only the subject is one argument.
func NewTemplates(subject, text, html string) (*Templates, error) {
	return parse(*defaults, subject, text, html)
}

// ParseFS parses the files SubjectFile, TextFile and HTMLFile of fsys; a
// file that is missing keeps the default of its part.
func ParseFS(fsys fs.FS) (*Templates, error) {
	var texts [3]string
	for i, name := range []string{SubjectFile, TextFile, HTMLFile} {
		b, err := fs.ReadFile(fsys, name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return nil, fmt.Errorf("mail: templates: %w", err)
		}
		texts[i] = string(b)
	}
	return parse(*defaults, texts[0], texts[1], texts[2])
}

// parse builds Templates from the given texts; an empty one keeps the
// template of base. Each template is run once on sample data, so that a template
// naming a field Data lacks fails here, at start-up, rather than at every
// send.
func parse(base Templates, subject, text, html string) (*Templates, error) {
	var err error
	t := &base
	if subject != "" {
		if t.subject, err = texttemplate.New(SubjectFile).Parse(subject); err != nil {
			return nil, fmt.Errorf("mail: templates: %w", err)
		}
	}
	if text != "" {
		if t.text, err = texttemplate.New(TextFile).Parse(text); err != nil {
			return nil, fmt.Errorf("mail: templates: %w", err)
		}
	}
	if html != "" {
		if t.html, err = htmltemplate.New(HTMLFile).Parse(html); err != nil {
			return nil, fmt.Errorf("mail: templates: %w", err)
		}
	}
	for _, d := range []Data{sampleData(KindOrganization), sampleData(KindGuest)} {
		if _, err := t.render(d); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func sampleData(k Kind) Data {
	return Data{
		Kind: k, OrganizationName: "Example", InviterName: "Ada", Role: "member", Email: "invitee@example.com",
		ExpiresAt: time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC), Link: "https://example.com/accept?token=t",
	}
}

// rendered is one email's text.
type rendered struct {
	subject, text, html string
}

// render runs the three templates on d. The subject becomes one line:
// every control character (a CR or LF from a display name, or a template's
// own line break) turns into a space, so no value can start a header.
func (t *Templates) render(d Data) (rendered, error) {
	var r rendered
	var b bytes.Buffer
	if err := t.subject.Execute(&b, d); err != nil {
		return r, fmt.Errorf("mail: subject template: %w", err)
	}
	r.subject = oneLine(b.String())
	b.Reset()
	if err := t.text.Execute(&b, d); err != nil {
		return r, fmt.Errorf("mail: text template: %w", err)
	}
	r.text = b.String()
	b.Reset()
	if err := t.html.Execute(&b, d); err != nil {
		return r, fmt.Errorf("mail: HTML template: %w", err)
	}
	r.html = b.String()
	return r, nil
}

// oneLine replaces control characters with spaces and collapses runs of
// spaces.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}
