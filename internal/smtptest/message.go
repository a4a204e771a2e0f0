package smtptest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"strings"
)

// Message is one message as the server received and parsed it.
type Message struct {
	// From and To are the envelope: MAIL FROM and the accepted RCPT TO.
	From string
	To   []string
	// TLS reports whether the connection was encrypted when the message
	// arrived (STARTTLS or implicit TLS).
	TLS bool
	// User is the name the client authenticated as, empty without AUTH.
	User string
	// Raw is the message as sent after DATA.
	Raw []byte
	// Header holds the message's header fields, as sent (encoded words
	// not decoded).
	Header mail.Header
	// Subject is the decoded Subject.
	Subject string
	// Text and HTML are the decoded text/plain and text/html parts (the
	// first of each), empty when the message has none.
	Text string
	HTML string
	// Err says why the message could not be parsed; Wait fails the test
	// when it is set.
	Err error
}

// linkRE finds an http(s) URL that carries a token parameter.
var linkRE = regexp.MustCompile(`https?://[^\s"'<>]*[?&]token=[^\s"'<>]*`)

// Link returns the first URL with a token query parameter in the text
// part, or in the HTML part (unescaped from its href) when the text part
// has none, or "" when neither has one.
func (m Message) Link() string {
	if l := linkRE.FindString(m.Text); l != "" {
		return l
	}
	return linkRE.FindString(html.UnescapeString(m.HTML))
}

// parse reads raw as a mail client would; a failure is kept in Err.
func parse(raw []byte) Message {
	m := Message{Raw: raw}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		m.Err = fmt.Errorf("read message: %w", err)
		return m
	}
	m.Header = msg.Header
	dec := new(mime.WordDecoder)
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		m.Err = fmt.Errorf("decode Subject: %w", err)
		return m
	}
	m.Err = m.readPart(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	return m
}

// readPart decodes one entity, descending into multiparts, and keeps the
// first text/plain and text/html it finds.
func (m *Message) readPart(contentType, encoding string, body io.Reader) error {
	if contentType == "" {
		contentType = "text/plain"
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("Content-Type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			// NextRawPart leaves the transfer encoding to decode below,
			// the same way for every part.
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", mediaType, err)
			}
			if err := m.readPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body) // it skips line breaks
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("%s (%s): %w", mediaType, encoding, err)
	}
	switch {
	case mediaType == "text/plain" && m.Text == "":
		m.Text = string(b)
	case mediaType == "text/html" && m.HTML == "":
		m.HTML = string(b)
	}
	return nil
}
