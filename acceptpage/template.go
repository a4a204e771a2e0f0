package acceptpage

import (
	_ "embed"
	"html/template"
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
