package search

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// isWordRune reports whether r belongs to a word: letters, digits and combining marks.
// Everything else (spaces, punctuation, symbols, emoji, the underscore) separates words, as
// the SQLite unicode61 tokenizer does. MariaDB's parser differs in one visible way: it keeps
// the underscore inside words, so foo_bar is one word there and two here.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// Words splits s into words, as typed.
func Words(s string) []string {
	var words []string
	for _, tok := range tokens(s) {
		words = append(words, s[tok.start:tok.end])
	}
	return words
}

// token is one word of a text: its byte span and its folded form.
type token struct {
	start, end int
	folded     string
}

// tokens splits s into words with their byte offsets and folded forms.
func tokens(s string) []token {
	var toks []token
	start := -1
	for i, r := range s {
		word := isWordRune(r) && r != utf8.RuneError
		switch {
		case word && start < 0:
			start = i
		case !word && start >= 0:
			toks = append(toks, token{start: start, end: i, folded: Fold(s[start:i])})
			start = -1
		}
	}
	if start >= 0 {
		toks = append(toks, token{start: start, end: len(s), folded: Fold(s[start:])})
	}
	return toks
}

// Fold lowers s and removes its diacritics ("Não" → "nao"), the way both full-text indexes
// compare words (MariaDB through utf8mb4_unicode_ci, SQLite through unicode61
// remove_diacritics 2).
func Fold(s string) string {
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
