package search

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on what Parse reads: input beyond them is ignored, never an error.
const (
	MaxQueryRunes = 500 // characters of the query text that are read
	MaxTerms      = 16  // terms kept; later terms are dropped
	MaxPhrase     = 12  // words kept in one phrase
)

// Kind is what a term matches.
type Kind uint8

// Kinds of terms.
const (
	KindWord   Kind = iota // one whole word
	KindPrefix             // one word that starts with Words[0] (typed as prefix*)
	KindPhrase             // Words adjacent and in order (typed as "a phrase", or a-hyphenated-word)
)

// Term is one thing the user asked for (or, with Exclude, against).
// Words hold only letters, digits and combining marks, as typed (not case-folded).
type Term struct {
	Kind    Kind
	Words   []string
	Exclude bool
}

// Query is a parsed search box. The zero value searches for nothing.
type Query struct {
	Terms []Term
}

// HasPositive reports whether the query asks for at least one word, prefix or phrase
// (a query of only exclusions matches nothing: see Parse).
func (q Query) HasPositive() bool {
	for _, t := range q.Terms {
		if !t.Exclude {
			return true
		}
	}
	return false
}

// String renders the query back in search-box syntax, normalised:
// `word pre* "a phrase" -word -"a phrase"`.
func (q Query) String() string {
	parts := make([]string, 0, len(q.Terms))
	for _, t := range q.Terms {
		parts = append(parts, t.String())
	}
	return strings.Join(parts, " ")
}

// String renders one term in search-box syntax.
func (t Term) String() string {
	var b strings.Builder
	if t.Exclude {
		b.WriteByte('-')
	}
	switch t.Kind {
	case KindPhrase:
		b.WriteByte('"')
		b.WriteString(strings.Join(t.Words, " "))
		b.WriteByte('"')
	case KindPrefix:
		b.WriteString(t.Words[0])
		b.WriteByte('*')
	default:
		b.WriteString(t.Words[0])
	}
	return b.String()
}

// Parse reads what a user typed into the search box. It never fails:
//
//   - words match whole words, case- and accent-insensitively (`Cenoura` finds `cenoura`,
//     `nao` finds `não`);
//   - "exact phrases" match adjacent words in order; an unbalanced quote runs to the end;
//   - a leading minus excludes a word or a phrase: -word, -"some phrase";
//   - a trailing star makes a prefix: entreg*;
//   - everything else is a separator. Operators of the full-text grammars (+ - < > ( ) ~ * " @,
//     AND OR NOT NEAR ^ : { }) have no effect unless they are the syntax above: AND, OR, NOT and
//     NEAR are plain words, punctuation splits words. A bare token that punctuation splits into
//     several words (e-mail, 12.500) becomes a phrase of those words.
//
// A query with only exclusions has no positive term: Searchers return nothing for it rather
// than everything that lacks the excluded words.
func Parse(input string) Query {
	input = truncateRunes(input, MaxQueryRunes)
	var q Query
	add := func(t Term) {
		if len(q.Terms) < MaxTerms {
			q.Terms = append(q.Terms, t)
		}
	}
	i := 0
	for i < len(input) {
		r, size := utf8.DecodeRuneInString(input[i:])
		if unicode.IsSpace(r) {
			i += size
			continue
		}
		exclude := false
		if r == '-' {
			exclude = true
			i += size
			if i >= len(input) {
				break
			}
			r, size = utf8.DecodeRuneInString(input[i:])
			if unicode.IsSpace(r) {
				continue // a lone minus
			}
		}
		if r == '"' {
			i += size
			end := strings.IndexByte(input[i:], '"')
			var inner string
			if end < 0 {
				inner, i = input[i:], len(input)
			} else {
				inner, i = input[i:i+end], i+end+1
			}
			if words := queryWords(inner); len(words) > 0 {
				add(phraseTerm(words, exclude))
			}
			continue
		}
		start := i
		for i < len(input) {
			r, size := utf8.DecodeRuneInString(input[i:])
			if unicode.IsSpace(r) || r == '"' {
				break
			}
			i += size
		}
		for _, t := range bareTerms(input[start:i], exclude) {
			add(t)
		}
	}
	return q
}

// bareTerms turns an unquoted token into terms.
func bareTerms(token string, exclude bool) []Term {
	prefix := strings.HasSuffix(token, "*")
	words := queryWords(token)
	switch {
	case len(words) == 0:
		return nil
	case len(words) == 1 && prefix:
		return []Term{{Kind: KindPrefix, Words: words, Exclude: exclude}}
	case len(words) == 1:
		return []Term{{Kind: KindWord, Words: words, Exclude: exclude}}
	case prefix && !exclude:
		// e-ma* : the phrase before the last word, then the last word as a prefix.
		return []Term{phraseTerm(words[:len(words)-1], false), {Kind: KindPrefix, Words: words[len(words)-1:]}}
	default:
		return []Term{phraseTerm(words, exclude)}
	}
}

// queryWords are the words of s that can match something: a lone combining mark folds to
// nothing and is dropped.
func queryWords(s string) []string {
	var words []string
	for _, w := range Words(s) {
		if Fold(w) != "" {
			words = append(words, w)
		}
	}
	return words
}

func phraseTerm(words []string, exclude bool) Term {
	if len(words) > MaxPhrase {
		words = words[:MaxPhrase]
	}
	if len(words) == 1 {
		return Term{Kind: KindWord, Words: words, Exclude: exclude}
	}
	return Term{Kind: KindPhrase, Words: words, Exclude: exclude}
}

func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	count := 0
	for i := range s {
		if count == n {
			return s[:i]
		}
		count++
	}
	return s
}
