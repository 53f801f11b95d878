package search

import (
	"sort"
	"unicode/utf8"
)

// SnippetWidth is the length of result snippets, in characters.
const SnippetWidth = 160

// Segment is a piece of message text; Match marks the words the query matched. Segments are
// plain text: views escape them like any other text and wrap matches in <mark>.
type Segment struct {
	Text  string
	Match bool
}

// Highlight splits text into segments, marking every occurrence of q's positive terms
// (words, prefixes, phrases; excluded terms are not marked). Concatenating the segments'
// Text gives text back.
func Highlight(text string, q Query) []Segment {
	return segments(text, matchSpans(text, q), 0, len(text))
}

// Snippet is a window of about width characters of text around the first match (the start of
// the text when nothing matches), cut at word boundaries, with "…" where text was cut.
func Snippet(text string, q Query, width int) []Segment {
	if width <= 0 {
		width = SnippetWidth
	}
	spans := matchSpans(text, q)
	if utf8.RuneCountInString(text) <= width {
		return segments(text, spans, 0, len(text))
	}
	anchor := 0
	if len(spans) > 0 {
		anchor = spans[0].start
	}
	toks := tokens(text)
	// Start a quarter of the width before the first match, at the start of a word.
	start := backRunes(text, anchor, width/4)
	if start > 0 {
		for _, t := range toks {
			if t.start >= start {
				start = t.start
				break
			}
		}
		if start > anchor {
			start = anchor
		}
	}
	end := forwardRunes(text, start, width)
	// End at the end of a word, and never inside a match.
	if end < len(text) {
		cut := start
		for _, t := range toks {
			if t.end > end {
				break
			}
			cut = t.end
		}
		if cut > anchor {
			end = cut
		}
		for _, s := range spans {
			if s.start < end && s.end > end {
				end = s.end
			}
		}
	}
	segs := segments(text, spans, start, end)
	if start > 0 {
		segs = append([]Segment{{Text: "…"}}, segs...)
		segs = mergePlain(segs)
	}
	if end < len(text) {
		segs = mergePlain(append(segs, Segment{Text: "…"}))
	}
	return segs
}

// matchSpans returns the merged, sorted byte spans of text where q's positive terms occur.
func matchSpans(text string, q Query) []span {
	if !q.HasPositive() {
		return nil
	}
	toks := tokens(text)
	var spans []span
	for _, t := range q.Terms {
		if t.Exclude {
			continue
		}
		spans = append(spans, foldTerm(t).occurrences(toks)...)
	}
	if len(spans) == 0 {
		return nil
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	merged := spans[:1]
	for _, s := range spans[1:] {
		last := &merged[len(merged)-1]
		if s.start <= last.end {
			if s.end > last.end {
				last.end = s.end
			}
			continue
		}
		merged = append(merged, s)
	}
	return merged
}

// segments cuts text[from:to] into plain and matched segments.
func segments(text string, spans []span, from, to int) []Segment {
	var segs []Segment
	pos := from
	for _, s := range spans {
		if s.end <= from || s.start >= to {
			continue
		}
		start, end := max(s.start, from), min(s.end, to)
		if start > pos {
			segs = append(segs, Segment{Text: text[pos:start]})
		}
		segs = append(segs, Segment{Text: text[start:end], Match: true})
		pos = end
	}
	if pos < to {
		segs = append(segs, Segment{Text: text[pos:to]})
	}
	return segs
}

// mergePlain joins adjacent unmatched segments.
func mergePlain(segs []Segment) []Segment {
	out := segs[:0:0]
	for _, s := range segs {
		if n := len(out); n > 0 && !out[n-1].Match && !s.Match {
			out[n-1].Text += s.Text
			continue
		}
		out = append(out, s)
	}
	return out
}

// backRunes moves n characters back from byte offset i.
func backRunes(s string, i, n int) int {
	for ; n > 0 && i > 0; n-- {
		_, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
	}
	return i
}

// forwardRunes moves n characters forward from byte offset i.
func forwardRunes(s string, i, n int) int {
	for ; n > 0 && i < len(s); n-- {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return i
}
