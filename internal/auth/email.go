package auth

import (
	"net/mail"
	"strings"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

var folder = cases.Fold()

// NormalizeEmail is the form an address is stored and looked up in: format characters
// (zero-width spaces and joiners, soft hyphens, direction marks, BOM) removed, NFKC (so
// full-width "ａ" is "a"), then Unicode case folding, so that every spelling that looks or
// compares the same as another maps to one value compared byte for byte.
func NormalizeEmail(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Cc, r) {
			return -1
		}
		return r
	}, s)
	s = norm.NFKC.String(s)
	s = folder.String(s)
	s = norm.NFKC.String(s)
	return strings.TrimSpace(s)
}

// validEmail reports whether a normalised address may name an account: plain ASCII (so
// that no look-alike of another account, such as "ádmin@x.io" next to "admin@x.io", can be
// registered) and a single well-formed address.
func validEmail(norm string) bool {
	if norm == "" || len(norm) > 254 {
		return false
	}
	for i := 0; i < len(norm); i++ {
		if norm[i] <= ' ' || norm[i] >= 0x7f {
			return false
		}
	}
	a, err := mail.ParseAddress(norm)
	return err == nil && a.Address == norm && strings.Count(norm, "@") == 1
}
