// Package email normalises and validates invitation email addresses, for
// both domains (invitation, guest), so that one address has one spelling
// everywhere an email enters: create, accept, list filters.
//
// An address is a person's identity here: only a user with the invited
// email can accept, and at most one invitation per organization and email
// is open. Two inputs that look the same must therefore never become two
// addresses, and two inputs that look different must never become one.
// Normalize refuses what would break either: invisible and control
// characters, text that is not in Unicode Normalization Form C,
// compatibility characters (fullwidth forms, ligatures), and case mappings
// that cross from non-ASCII to ASCII. It never repairs such input
// silently.
package email

import (
	"errors"
	"fmt"
	"net/mail"
	"net/netip"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Policy relaxes the rules Normalize applies to the domain of an address.
// The zero Policy is the default: a domain must be a fully qualified name
// of the public DNS, such as example.com. Applications on an intranet,
// where mail goes to hosts without a public name, set the fields they
// need. The rules on characters, normalisation and case are not
// configurable: they keep look-alike addresses apart.
type Policy struct {
	// AllowSingleLabelDomain accepts a domain of one label, such as
	// user@intranet. By default a domain needs at least two labels
	// (user@intranet.example).
	AllowSingleLabelDomain bool
	// AllowLocalhost accepts the special-use name localhost and the names
	// under it (user@localhost, user@mail.localhost, RFC 6761), which
	// always name the machine itself.
	AllowLocalhost bool
	// AllowAddressLiteral accepts an IP address in brackets as the domain,
	// as RFC 5321 writes it: user@[192.0.2.1] or user@[IPv6:2001:db8::1].
	// An IP address without brackets (user@192.0.2.1) is never a domain:
	// a top-level label is never all digits.
	AllowAddressLiteral bool
}

// Bounds of a DNS name (RFC 1035): a label is 1 to 63 octets, a name
// at most 253 in its dotted form.
const (
	maxLabelLen  = 63
	maxDomainLen = 253
)

// Normalize trims s, lowercases it and checks it under policy: a bare
// address (no display name, no angle brackets) of min to max characters
// with a domain the policy allows. The error message is meant for a
// person, names what is wrong and does not repeat the input.
//
// Normalize refuses rather than repairs:
//   - text that is not valid UTF-8, or that holds the replacement
//     character U+FFFD, which marks text already broken on its way in;
//   - control characters, format characters (Unicode category Cf, such as
//     U+200B ZERO WIDTH SPACE, U+200D ZERO WIDTH JOINER, U+2060 WORD
//     JOINER, U+FEFF), other default-ignorable characters (variation
//     selectors, Hangul fillers), spaces other than at the ends, private
//     use and unassigned characters: invisible ones make look-alike
//     addresses, the others are never part of a real one;
//   - text that is not in Normalization Form C: é written as e and a
//     combining accent is the NFC é to a reader but another string to a
//     database, and some characters (the Kelvin sign U+212A) have an NFC
//     form that is a plain ASCII letter;
//   - a character whose lowercase is ASCII while it is not (U+0130 LATIN
//     CAPITAL LETTER I WITH DOT ABOVE lowercases to i), or lowercasing
//     that leaves the text not in NFC: either would make two different
//     inputs one address.
//   - compatibility characters, whose Normalization Form KC differs
//     (U+FF20 FULLWIDTH COMMERCIAL AT, fullwidth letters, ligatures such
//     as U+FB01, U+017F LONG S): each is another spelling of a plain
//     character, so an address holding one passes for the address it
//     imitates, or hides a second @.
//
// The domain must be a name of ASCII letters, digits and hyphens (an
// internationalised domain in its xn-- form), each label 1 to 63
// characters, not starting or ending with a hyphen, with at least two
// labels and a top-level label that is not all digits; localhost and
// address literals only as policy allows. The local part may hold
// non-ASCII letters (RFC 6531), such as josé@example.com.
func Normalize(s string, min, max int, policy Policy) (string, error) {
	if !utf8.ValidString(s) {
		// ToLower would turn the bad bytes into U+FFFD and accept an
		// address nobody typed.
		return "", errors.New("must be valid UTF-8")
	}
	s = strings.TrimSpace(s)
	if msg := checkRunes(s); msg != "" {
		return "", errors.New(msg)
	}
	if !norm.NFC.IsNormalString(s) {
		return "", errors.New("must be in Unicode Normalization Form C (NFC); characters such as the Kelvin sign have another form")
	}
	lower, ok := lowerNoCrossing(s)
	if !ok || !norm.NFC.IsNormalString(lower) {
		return "", errors.New("must not hold letters whose lowercase is ambiguous (such as U+0130)")
	}
	if !norm.NFKC.IsNormalString(lower) {
		// A compatibility character is another spelling of a plain one:
		// U+FF20 FULLWIDTH COMMERCIAL AT reads as @, U+FF41 as a, U+017F
		// LONG S as s, so a＠example.com@evil.com and ａda@example.com
		// pass for addresses they are not.
		return "", errors.New("must not hold compatibility characters (fullwidth forms such as U+FF20, ligatures, " +
			"long s); write the plain characters they stand for")
	}
	s = lower
	n := utf8.RuneCountInString(s)
	if n < min || n > max {
		return "", fmt.Errorf("must be %d to %d characters", min, max)
	}
	// net/mail parses IPv4 address literals but not IPv6 ones, whose
	// colons it refuses: a literal is checked by checkDomain, and net/mail
	// checks the local part before it with a stand-in domain.
	parsed := s
	at := strings.LastIndexByte(s, '@')
	if at >= 0 && strings.HasPrefix(s[at+1:], "[") {
		parsed = s[:at+1] + "literal.invalid"
	}
	a, err := mail.ParseAddress(parsed)
	if err != nil || a.Name != "" || a.Address != parsed {
		return "", errors.New("must be a valid email address such as name@example.com")
	}
	if msg := checkDomain(s[at+1:], policy); msg != "" {
		return "", errors.New(msg)
	}
	return s, nil
}

// checkRunes says what is wrong with the characters of s, if anything.
// Only letters, marks, numbers, punctuation and symbols may appear, and
// ASCII space, which net/mail refuses outside quotes.
func checkRunes(s string) string {
	for _, r := range s {
		switch {
		case r == ' ':
		case r == utf8.RuneError:
			return "must not contain the replacement character U+FFFD"
		case unicode.Is(unicode.Cf, r), unicode.Is(unicode.Variation_Selector, r),
			unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r):
			return fmt.Sprintf("must not contain invisible characters such as %U", r)
		case unicode.IsControl(r):
			return fmt.Sprintf("must not contain control characters such as %U", r)
		case unicode.IsSpace(r):
			return fmt.Sprintf("must not contain spaces such as %U", r)
		case !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S):
			// Private use, unassigned (in this Go's Unicode version)
			// and the separators U+2028 and U+2029.
			return fmt.Sprintf("must not contain characters such as %U", r)
		}
	}
	return ""
}

// lowerNoCrossing lowercases s rune by rune, as strings.ToLower does, and
// reports false when a non-ASCII rune lowercases to an ASCII one.
func lowerNoCrossing(s string) (string, bool) {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		l := unicode.ToLower(r)
		if r >= utf8.RuneSelf && l < utf8.RuneSelf {
			return "", false
		}
		b.WriteRune(l)
	}
	return b.String(), true
}

// checkDomain says what is wrong with the lowercase domain d under policy,
// if anything.
func checkDomain(d string, policy Policy) string {
	if strings.HasPrefix(d, "[") {
		if !policy.AllowAddressLiteral {
			return "must have a domain name, not an address literal such as [192.0.2.1]"
		}
		return checkLiteral(d)
	}
	if len(d) > maxDomainLen {
		return fmt.Sprintf("must have a domain of at most %d characters", maxDomainLen)
	}
	labels := strings.Split(d, ".")
	for _, l := range labels {
		if msg := checkLabel(l); msg != "" {
			return msg
		}
	}
	top := labels[len(labels)-1]
	switch {
	case allDigits(top):
		return "must have a domain name, not an IP address"
	case top == "localhost":
		if !policy.AllowLocalhost {
			return "must not have the domain localhost"
		}
	case len(labels) == 1 && !policy.AllowSingleLabelDomain:
		return "must have a fully qualified domain such as example.com"
	}
	return ""
}

// checkLabel says what is wrong with one label of a domain name, if
// anything: it must be 1 to 63 ASCII letters, digits and hyphens, not
// starting or ending with a hyphen (RFC 1123, RFC 5890 A-labels).
func checkLabel(l string) string {
	if l == "" {
		return "must not have an empty label in its domain (two dots, or a dot at an end)"
	}
	if len(l) > maxLabelLen {
		return fmt.Sprintf("must have domain labels of at most %d characters", maxLabelLen)
	}
	if l[0] == '-' || l[len(l)-1] == '-' {
		return "must not have a domain label that starts or ends with a hyphen"
	}
	for i := 0; i < len(l); i++ {
		switch c := l[i]; {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-':
		default:
			return "must have a domain of ASCII letters, digits, hyphens and dots; " +
				"write an internationalised domain in its xn-- form"
		}
	}
	return ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// checkLiteral says what is wrong with d, which starts with '[', as an
// RFC 5321 address literal, if anything: [IPv4] or [ipv6:IPv6] (lowercase
// here), the IPv6 address in its one canonical spelling (RFC 5952), so
// that one host is one address.
func checkLiteral(d string) string {
	const msg = "must have an address literal such as [192.0.2.1] or [IPv6:2001:db8::1]"
	inner, ok := strings.CutSuffix(d[1:], "]")
	if !ok {
		return msg
	}
	if v6, ok := strings.CutPrefix(inner, "ipv6:"); ok {
		a, err := netip.ParseAddr(v6)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return msg
		}
		if a.String() != v6 {
			return "must write an IPv6 address literal in its canonical form (RFC 5952), such as [IPv6:2001:db8::1]"
		}
		return ""
	}
	if a, err := netip.ParseAddr(inner); err != nil || !a.Is4() {
		return msg
	}
	return ""
}

// NormalizeDomain trims and lowercases d and checks it as Normalize checks
// the domain of an address under policy: the form in which an allowed
// domain is compared with Domain of a normalised address.
func NormalizeDomain(d string, policy Policy) (string, error) {
	if !utf8.ValidString(d) {
		return "", errors.New("must be valid UTF-8")
	}
	d = strings.TrimSpace(d)
	if msg := checkRunes(d); msg != "" {
		return "", errors.New(msg)
	}
	lower, ok := lowerNoCrossing(d)
	if !ok {
		return "", errors.New("must not hold a character whose lowercase is another letter's")
	}
	if lower == "" {
		return "", errors.New("must not be empty")
	}
	if strings.ContainsRune(lower, '@') {
		return "", errors.New("must be a domain such as example.com, without @")
	}
	if msg := checkDomain(lower, policy); msg != "" {
		return "", errors.New(msg)
	}
	return lower, nil
}

// Domain returns the domain of addr, an address Normalize returned.
func Domain(addr string) string { return addr[strings.LastIndexByte(addr, '@')+1:] }

// DomainIn reports whether addr, an address Normalize returned, has one
// of domains (normalised), compared exactly: a subdomain is another
// domain. No domains allows any.
func DomainIn(addr string, domains []string) bool {
	return len(domains) == 0 || slices.Contains(domains, Domain(addr))
}
