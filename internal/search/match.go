package search

import (
	"strings"
	"unicode/utf8"
)

// span is a byte range of a text.
type span struct{ start, end int }

// foldedTerm is a term prepared for matching against folded tokens.
type foldedTerm struct {
	kind    Kind
	words   []string
	exclude bool
}

func foldTerm(t Term) foldedTerm {
	ft := foldedTerm{kind: t.Kind, exclude: t.Exclude, words: make([]string, len(t.Words))}
	for i, w := range t.Words {
		// A word may fold into several (a combining mark alone, say); keep it whole.
		ft.words[i] = Fold(w)
	}
	return ft
}

// occurrences returns the spans where term occurs among toks.
func (ft foldedTerm) occurrences(toks []token) []span {
	var spans []span
	n := len(ft.words)
	if n == 0 {
		return nil
	}
	for i := 0; i+n <= len(toks); i++ {
		if ft.matchesAt(toks, i) {
			spans = append(spans, span{toks[i].start, toks[i+n-1].end})
		}
	}
	return spans
}

func (ft foldedTerm) matchesAt(toks []token, i int) bool {
	switch ft.kind {
	case KindPrefix:
		return strings.HasPrefix(toks[i].folded, ft.words[0])
	default:
		for j, w := range ft.words {
			if toks[i+j].folded != w {
				return false
			}
		}
		return true
	}
}

// textFilter checks terms against a message's text in Go. The MariaDB backend uses it for
// the words its full-text index cannot look up (shorter than the minimum token size, or
// stopwords), on rows that the index (or the filters) already narrowed down.
type textFilter struct {
	terms []foldedTerm
}

func newTextFilter(terms []Term) textFilter {
	f := textFilter{}
	for _, t := range terms {
		f.terms = append(f.terms, foldTerm(t))
	}
	return f
}

func (f textFilter) empty() bool { return len(f.terms) == 0 }

// keep reports whether text has every positive term and none of the excluded ones.
func (f textFilter) keep(text string) bool {
	if f.empty() {
		return true
	}
	words := strings.FieldsFunc(Fold(text), func(r rune) bool { return !isWordRune(r) || r == utf8.RuneError })
	for _, t := range f.terms {
		found := false
		for i := 0; i+len(t.words) <= len(words); i++ {
			if t.matchesWords(words, i) {
				found = true
				break
			}
		}
		if found == t.exclude {
			return false
		}
	}
	return true
}

// matchesWords is matchesAt over folded words.
func (ft foldedTerm) matchesWords(words []string, i int) bool {
	if ft.kind == KindPrefix {
		return strings.HasPrefix(words[i], ft.words[0])
	}
	for j, w := range ft.words {
		if words[i+j] != w {
			return false
		}
	}
	return true
}
