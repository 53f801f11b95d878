package i18n

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"coexhistory/internal/viewer"
)

// TestCatalogues: every message has both languages, and every id the templates and
// handlers ask for is in the catalogues.
func TestCatalogues(t *testing.T) {
	en, err := catalogue("en")
	if err != nil {
		t.Fatal(err)
	}
	pt, err := catalogue("pt-BR")
	if err != nil {
		t.Fatal(err)
	}
	for id, s := range en {
		if strings.TrimSpace(pt[id]) == "" {
			t.Errorf("%s has no pt-BR translation (en: %q)", id, s)
		}
	}
	for id := range pt {
		if _, ok := en[id]; !ok {
			t.Errorf("%s is in pt-BR only", id)
		}
	}
	// Ids used in code: i18n.T(ctx, "id"), i18n.N(ctx, "id", …), i18n.Lang(lang, "id"), and
	// msg("id") in templates' Go code.
	used := regexp.MustCompile(`i18n\.(?:T|N|NPlain|Lang)\([^,"]+,\s*"([^"]+)"\s*[,)]|\bmsg\("([^"]+)"\)`)
	root := filepath.Join("..", "..")
	var missing []string
	var sources strings.Builder // the Go code, for the err.* and note.* texts below
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(p, ".templ") && !(strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_templ.go") && !strings.HasSuffix(p, "_test.go")) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.HasSuffix(p, ".go") {
			sources.Write(b)
		}
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			id := m[1] + m[2]
			if _, ok := en[id]; !ok {
				missing = append(missing, p+": "+id)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Known translates err.* and note.* messages by their English: it must be the text the
	// code writes, word for word.
	for id, s := range en {
		if knownPrefix(id) && !strings.Contains(sources.String(), strconv.Quote(s)) {
			missing = append(missing, id+": its English is in no Go code: "+s)
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("not in the catalogues: %s", m)
	}
}

// TestCataloguePlaceholders: a translation fills the same {{.Placeholders}} as the English,
// and the words for message types (msgtype.*) are the types themselves in English, since
// English pages show the type as stored.
func TestCataloguePlaceholders(t *testing.T) {
	en, err := catalogue("en")
	if err != nil {
		t.Fatal(err)
	}
	pt, err := catalogue("pt-BR")
	if err != nil {
		t.Fatal(err)
	}
	ph := regexp.MustCompile(`{{\s*\.(\w+)\s*}}`)
	names := func(s string) string {
		var out []string
		for _, m := range ph.FindAllStringSubmatch(s, -1) {
			out = append(out, m[1])
		}
		sort.Strings(out)
		return strings.Join(slices.Compact(out), ",")
	}
	for id, s := range en {
		if got, want := names(pt[id]), names(s); got != want {
			t.Errorf("%s: pt-BR fills {%s}, English {%s}", id, got, want)
		}
		if typ, ok := strings.CutPrefix(id, "msgtype."); ok && s != typ {
			t.Errorf("%s is %q in English, want the type itself", id, s)
		}
	}
}

// TestKnown: the English words of errors and notes read in the viewer's language, a
// reference in parentheses kept; other text and English viewers are left alone.
func TestKnown(t *testing.T) {
	pt := viewer.WithContext(context.Background(), viewer.Viewer{Lang: "pt-BR"})
	en := viewer.WithContext(context.Background(), viewer.Viewer{Lang: "en"})
	note := "Meta has no delivery history for this message."
	if got := Known(pt, note); got != "A Meta não tem histórico de entrega para esta mensagem." {
		t.Errorf("pt-BR note %q", got)
	}
	if got := Known(pt, note+" (code 100/33, HTTP 400)"); got != "A Meta não tem histórico de entrega para esta mensagem. (code 100/33, HTTP 400)" {
		t.Errorf("pt-BR note with reference %q", got)
	}
	if got := Known(en, note); got != note {
		t.Errorf("en note %q", got)
	}
	for _, s := range []string{"Something Meta said", "", "Sent"} {
		if got := Known(pt, s); got != s {
			t.Errorf("Known(pt, %q) = %q, want it unchanged", s, got)
		}
	}
}

func TestMatchAndFormat(t *testing.T) {
	for _, c := range []struct{ profile, accept, want string }{
		{"", "pt-BR,pt;q=0.9,en;q=0.8", "pt-BR"},
		{"", "pt", "pt-BR"},
		{"", "pt-PT", "pt-BR"},
		{"", "en-US,en;q=0.9", "en"},
		{"", "de-DE", "en"},
		{"", "", "en"},
		{"en", "pt-BR", "en"},
		{"pt-BR", "en", "pt-BR"},
		{"xx", "pt-BR", "pt-BR"},
	} {
		if got := Match(c.profile, c.accept); got != c.want {
			t.Errorf("Match(%q, %q) = %q, want %q", c.profile, c.accept, got, c.want)
		}
	}
	pt := viewer.WithContext(context.Background(), viewer.Viewer{Lang: "pt-BR"})
	en := viewer.WithContext(context.Background(), viewer.Viewer{Lang: "en"})
	if got := T(pt, "conv.noMatch", map[string]any{"Contact": "Otávio"}); got != "Nenhuma conversa com um contato que corresponda a Otávio." {
		t.Errorf("pt-BR with data: %q", got)
	}
	if got := N(pt, "thread.messages", 60000); got != "60.000 mensagens" {
		t.Errorf("pt-BR plural: %q", got)
	}
	if got := N(en, "thread.messages", 1); got != "1 message" {
		t.Errorf("en singular: %q", got)
	}
	day := time.Date(2025, 10, 10, 0, 0, 0, 0, time.UTC)
	if got := Day(pt, day); got != "sexta-feira, 10 de outubro de 2025" {
		t.Errorf("pt-BR day %q", got)
	}
	if got := Day(en, day); got != "Friday, 10 October 2025" {
		t.Errorf("en day %q", got)
	}
	if got := Day(pt, time.Date(2025, 12, 2, 0, 0, 0, 0, time.UTC)); got != "terça-feira, 2 de dezembro de 2025" {
		t.Errorf("pt-BR day %q", got)
	}
	if got := T(en, "no.such.id"); got != "no.such.id" {
		t.Errorf("missing id shows %q", got)
	}
}
