package search

import (
	"strings"
	"unicode/utf8"
)

// FTS5 compiles q into an SQLite FTS5 MATCH expression. Every word is a quoted string, so
// nothing the user typed is read as FTS5 syntax (AND, OR, NOT, NEAR, column filters, ^, {}).
// It returns "" when q has no positive term.
//
//	cenoura           → "cenoura"
//	entreg*           → "entreg"*
//	"bom dia" -boleto → ("bom dia") NOT ("boleto")
func FTS5(q Query) string {
	var pos, neg []string
	for _, t := range q.Terms {
		s := fts5String(t.Words)
		if t.Kind == KindPrefix {
			s += "*"
		}
		if t.Exclude {
			neg = append(neg, s)
		} else {
			pos = append(pos, s)
		}
	}
	if len(pos) == 0 {
		return ""
	}
	expr := strings.Join(pos, " AND ")
	if len(neg) > 0 {
		expr = "(" + expr + ") NOT (" + strings.Join(neg, " OR ") + ")"
	}
	return expr
}

func fts5String(words []string) string {
	return `"` + strings.ReplaceAll(strings.Join(words, " "), `"`, `""`) + `"`
}

// FulltextRules describe what a MariaDB/MySQL InnoDB FULLTEXT index holds: words of
// MinToken..MaxToken characters that are not stopwords (compared folded).
type FulltextRules struct {
	MinToken  int
	MaxToken  int
	Stopwords map[string]bool
}

// InnoDBDefaultStopwords returns INFORMATION_SCHEMA.INNODB_FT_DEFAULT_STOPWORD.
func InnoDBDefaultStopwords() []string {
	return []string{"a", "about", "an", "are", "as", "at", "be", "by", "com", "de",
		"en", "for", "from", "how", "i", "in", "is", "it", "la", "of", "on", "or", "that", "the", "this",
		"to", "was", "what", "when", "where", "who", "will", "with", "und", "www"}
}

// DefaultFulltextRules are InnoDB's defaults: 3..84 characters, the default stopword list.
func DefaultFulltextRules() FulltextRules {
	return NewFulltextRules(3, 84, InnoDBDefaultStopwords())
}

// NewFulltextRules builds rules from the server's settings.
func NewFulltextRules(minToken, maxToken int, stopwords []string) FulltextRules {
	r := FulltextRules{MinToken: minToken, MaxToken: maxToken, Stopwords: map[string]bool{}}
	for _, w := range stopwords {
		r.Stopwords[Fold(w)] = true
	}
	return r
}

// Indexed reports whether the index holds word (so MATCH can look it up).
func (r FulltextRules) Indexed(word string) bool {
	n := utf8.RuneCountInString(word)
	if n < r.MinToken || (r.MaxToken > 0 && n > r.MaxToken) {
		return false
	}
	return !r.Stopwords[Fold(word)]
}

// BooleanPlan is a query compiled for MATCH … AGAINST (… IN BOOLEAN MODE).
type BooleanPlan struct {
	// Against is the boolean-mode expression; "" when no positive term can use the index.
	Against string
	// Check holds the terms the index cannot decide (see CompileBoolean); they are checked
	// against each candidate's text.
	Check []Term
	// Unindexed lists the words that the index cannot look up, for the user's information.
	Unindexed []string
}

// CompileBoolean compiles q for InnoDB boolean mode. InnoDB does not index words shorter than
// innodb_ft_min_token_size (3 by default), longer than innodb_ft_max_token_size, or on the
// stopword list, and boolean mode then misbehaves: `+ok` or `+de` makes the whole query match
// nothing, `-ok` is ignored, such words inside a phrase are skipped (so the phrase matches too
// much), and `ok*` misses the word "ok" itself. Phrases are also slow: InnoDB re-reads every
// document that holds all the words (about 0.7 s for 10k candidates at 1M messages), while
// looking up the words is cheap. So:
//
//   - an indexed word or prefix becomes +word / word* (or -word);
//   - a phrase becomes +word for each of its indexed words, and the phrase itself is checked;
//   - an excluded phrase is only checked;
//   - everything else goes to Check, to be tested on each candidate's text.
//
// Words hold only letters, digits and marks, so the expression carries no operator the user
// typed.
func CompileBoolean(q Query, rules FulltextRules) BooleanPlan {
	var plan BooleanPlan
	var parts []string
	seen := map[string]bool{}
	noteUnindexed := func(w string) {
		if f := Fold(w); !seen[f] {
			seen[f] = true
			plan.Unindexed = append(plan.Unindexed, w)
		}
	}
	inExpr := map[string]bool{}
	addPart := func(p string) {
		if f := Fold(p); !inExpr[f] {
			inExpr[f] = true
			parts = append(parts, p)
		}
	}
	for _, t := range q.Terms {
		all := true
		for _, w := range t.Words {
			if !rules.Indexed(w) {
				all = false
				noteUnindexed(w)
			}
		}
		sign := "+"
		if t.Exclude {
			sign = "-"
		}
		switch {
		case t.Kind == KindPhrase:
			if !t.Exclude {
				for _, w := range t.Words {
					if rules.Indexed(w) {
						addPart("+" + w)
					}
				}
			}
			plan.Check = append(plan.Check, t)
		case t.Kind == KindPrefix && all:
			addPart(sign + t.Words[0] + "*")
		case t.Kind == KindWord && all:
			addPart(sign + t.Words[0])
		default:
			plan.Check = append(plan.Check, t)
		}
	}
	for _, p := range parts {
		if strings.HasPrefix(p, "+") {
			plan.Against = strings.Join(parts, " ")
			return plan
		}
	}
	// Nothing positive for the index to look up: every term is checked on the text.
	plan.Check = append([]Term(nil), q.Terms...)
	return plan
}
