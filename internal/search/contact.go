package search

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// The contact filter, shared by search and the thread list (store.ListThreads).

// FoldFunction is the SQLite function that folds a contact name for the contact filter (the
// store registers it with the driver); MariaDB needs none, its utf8mb4_unicode_ci collation
// already ignores case and accents.
const FoldFunction = "coex_fold"

// maxContactFilter is how many characters of a contact filter are used.
const maxContactFilter = 100

// ContactMatch is how a contact filter selects threads.
type ContactMatch struct {
	Digits string // digits found anywhere in the contact's WhatsApp ID
	Name   string // text the contact name contains, compared folded (see FoldName)
}

// ParseContact reads a contact filter (its first 100 characters): a phone number (digits,
// optionally with + ( ) - . and spaces) matches any part of the contact's WhatsApp ID, so
// "+55 11 91234-5678", "11 91234-5678" and the last four digits all find +5511912345678;
// anything else matches part of the contact name, ignoring case and accents ("otavio" and
// "OTÁVIO" find "Otávio").
func ParseContact(s string) ContactMatch {
	s = strings.TrimSpace(s)
	if s == "" {
		return ContactMatch{}
	}
	if r := []rune(s); len(r) > maxContactFilter {
		s = string(r[:maxContactFilter])
	}
	digits := strings.Map(func(r rune) rune {
		switch {
		case r >= '0' && r <= '9':
			return r
		case r == '+' || r == '(' || r == ')' || r == '-' || r == '.' || r == ' ':
			return -1
		}
		return 'x'
	}, s)
	if digits != "" && !strings.Contains(digits, "x") {
		return ContactMatch{Digits: digits}
	}
	return ContactMatch{Name: s}
}

// Empty reports whether the filter selects every thread.
func (c ContactMatch) Empty() bool { return c.Digits == "" && c.Name == "" }

// Where returns the condition on the threads table (columns prefixed with alias, e.g. "t.")
// and its arguments, for the dialect. LIKE runs on the threads table only, never on message
// text. MariaDB compares names through utf8mb4_unicode_ci (case and accents ignored);
// SQLite through coex_fold, which the store registers with the driver.
//
// A name filter also finds the contact's WhatsApp username (a leading "@" is left out:
// "@padaria" finds padaria.lu) and BSUID (part of it, as Meta writes it: user.4f1c…); a
// filter that starts with "@" looks at the username only.
func (c ContactMatch) Where(dialect, alias string) (string, []any) {
	if c.Digits != "" {
		return alias + "contact_wa_id LIKE ? ESCAPE '!'", []any{"%" + escapeLike(c.Digits) + "%"}
	}
	folded := func(col, s string) (string, any) {
		if dialect == sqliteDialect {
			return FoldFunction + "(" + alias + col + ") LIKE ? ESCAPE '!'", "%" + escapeLike(FoldName(s)) + "%"
		}
		return alias + col + " LIKE ? ESCAPE '!'", "%" + escapeLike(s) + "%"
	}
	if user, ok := strings.CutPrefix(c.Name, "@"); ok && strings.TrimSpace(user) != "" {
		cond, arg := folded("contact_username", strings.TrimSpace(user))
		return cond, []any{arg}
	}
	name, nameArg := folded("contact_name", c.Name)
	user, userArg := folded("contact_username", c.Name)
	return "(" + name + " OR " + user + " OR " + alias + "contact_user_id LIKE ? ESCAPE '!')",
		[]any{nameArg, userArg, "%" + escapeLike(c.Name) + "%"}
}

func escapeLike(s string) string {
	return strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(s)
}

// FoldName lowers s and removes its diacritics ("Otávio" → "otavio"), as the contact filter
// compares names.
func FoldName(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	return strings.ToLower(out)
}
