package search

import (
	"reflect"
	"strings"
	"testing"
)

func TestHighlight(t *testing.T) {
	tests := []struct {
		query, text string
		want        []Segment
	}{
		{"cenoura", "Comprei Cenoura e cenouras", []Segment{{Text: "Comprei "}, {Text: "Cenoura", Match: true}, {Text: " e cenouras"}}},
		{"cenoura*", "Comprei Cenoura e cenouras", []Segment{{Text: "Comprei "}, {Text: "Cenoura", Match: true}, {Text: " e "}, {Text: "cenouras", Match: true}}},
		{"nao", "Não, não.", []Segment{{Text: "Não", Match: true}, {Text: ", "}, {Text: "não", Match: true}, {Text: "."}}},
		{`"bom dia"`, "bom, dia! Bom dia", []Segment{{Text: "bom, dia", Match: true}, {Text: "! "}, {Text: "Bom dia", Match: true}}},
		{"dia -bom", "bom dia", []Segment{{Text: "bom "}, {Text: "dia", Match: true}}},
		{"xyz", "<script>alert(1)</script>", []Segment{{Text: "<script>alert(1)</script>"}}},
		{"script", "<script>alert(1)</script>", []Segment{{Text: "<"}, {Text: "script", Match: true}, {Text: ">alert(1)</"}, {Text: "script", Match: true}, {Text: ">"}}},
		{"", "", nil},
	}
	for _, tt := range tests {
		got := Highlight(tt.text, Parse(tt.query))
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Highlight(%q, %q) = %#v, want %#v", tt.text, tt.query, got, tt.want)
		}
		if joined := join(got); joined != tt.text {
			t.Errorf("Highlight(%q, %q) joins to %q", tt.text, tt.query, joined)
		}
	}
}

func TestSnippet(t *testing.T) {
	long := strings.Repeat("palavra ", 50) + "o boleto venceu ontem " + strings.Repeat("outra ", 50)
	segs := Snippet(long, Parse("boleto"), 60)
	text := join(segs)
	if !strings.HasPrefix(text, "…") || !strings.HasSuffix(text, "…") {
		t.Errorf("snippet %q: want … at both ends", text)
	}
	var matches []string
	for _, s := range segs {
		if s.Match {
			matches = append(matches, s.Text)
		}
	}
	if !reflect.DeepEqual(matches, []string{"boleto"}) {
		t.Errorf("snippet matches = %q, want [boleto]", matches)
	}
	if n := len([]rune(text)); n > 64 {
		t.Errorf("snippet has %d characters, want about 60: %q", n, text)
	}
	if !strings.Contains(text, " o boleto venceu ontem ") {
		t.Errorf("snippet %q lacks the context around the match", text)
	}
	// Whole words only at the cuts.
	inner := strings.TrimSuffix(strings.TrimPrefix(text, "…"), "…")
	for _, w := range strings.Fields(inner) {
		if w != "palavra" && w != "outra" && w != "o" && w != "boleto" && w != "venceu" && w != "ontem" {
			t.Errorf("snippet %q cuts a word: %q", text, w)
		}
	}

	// No match: the start of the text.
	segs = Snippet(long, Parse(""), 30)
	if got := join(segs); !strings.HasPrefix(got, "palavra palavra") || !strings.HasSuffix(got, "…") {
		t.Errorf("snippet without query = %q", got)
	}
	// Short text: whole.
	if got := Snippet("oi", Parse("oi"), 30); !reflect.DeepEqual(got, []Segment{{Text: "oi", Match: true}}) {
		t.Errorf("short snippet = %#v", got)
	}
}

func join(segs []Segment) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteString(s.Text)
	}
	return b.String()
}
