// Package email normalises and validates invitation email addresses.
package email

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"
)

// Normalize trims s, lowercases it and checks that it is a bare address
// (no display name, no angle brackets) of min to max characters. The error
// message is meant for a person and does not repeat the input.
func Normalize(s string, min, max int) (string, error) {
	if !utf8.ValidString(s) {
		// ToLower would turn the bad bytes into U+FFFD and accept an
		// address nobody typed.
		return "", fmt.Errorf("must be valid UTF-8")
	}
	s = strings.ToLower(strings.TrimSpace(s))
	n := utf8.RuneCountInString(s)
	if n < min || n > max {
		return "", fmt.Errorf("must be %d to %d characters", min, max)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", fmt.Errorf("must be a valid email address such as name@example.com")
	}
	return s, nil
}
