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
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			b.WriteByte(byte(r))
		case r >= latinFoldFirst && int(r-latinFoldFirst) < len(latinFold):
			if c := latinFold[r-latinFoldFirst]; c != '.' {
				b.WriteByte(c)
			} else {
				b.WriteRune(unicode.ToLower(r))
			}
		case unicode.Is(unicode.Mn, r):
			// a combining mark: dropped
		default:
			var buf [utf8.UTFMax]byte
			n := utf8.EncodeRune(buf[:], r)
			if norm.NFD.Properties(buf[:n]).Decomposition() != nil {
				return foldUnicode(s)
			}
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// latinFold folds U+00C0…U+017F (Latin-1 Supplement and Latin Extended-A) to the ASCII
// letter they carry a diacritic on; '.' marks letters without one (æ, ß, ø, ×, …), which are
// only lowered. It gives what foldUnicode gives, without its cost.
const (
	latinFoldFirst = 0xC0
	latinFold      = "aaaaaa.ceeeeiiii.nooooo..uuuuy..aaaaaa.ceeeeiiii.nooooo..uuuuy.y" +
		"aaaaaaccccccccdd..eeeeeeeeeegggggggghh..iiiiiiiii...jjkk.llllll....nnnnnn...oooooo" +
		"..rrrrrrsssssssstttt..uuuuuuuuuuuuwwyyyzzzzzz."
)

// foldUnicode folds any text: canonical decomposition, combining marks removed, lowered.
func foldUnicode(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	return strings.ToLower(out)
}
