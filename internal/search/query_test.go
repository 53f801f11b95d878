package search

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  string // Query.String()
		fts5  string
		bool2 string // CompileBoolean with min token 2 and InnoDB's stopwords
	}{
		{"empty", "", "", "", ""},
		{"spaces", "  \t\n ", "", "", ""},
		{"one word", "cenoura", "cenoura", `"cenoura"`, "+cenoura"},
		{"words", "bom  dia", "bom dia", `"bom" AND "dia"`, "+bom +dia"},
		{"case kept", "Cenoura", "Cenoura", `"Cenoura"`, "+Cenoura"},
		{"accents kept", "não", "não", `"não"`, "+não"},
		{"phrase", `"bom dia"`, `"bom dia"`, `"bom dia"`, `+bom +dia`},
		{"phrase of one word is a word", `"cenoura"`, "cenoura", `"cenoura"`, "+cenoura"},
		{"empty phrase", `""`, "", "", ""},
		{"unbalanced quote runs to end", `pedido "entrega amanhã`, `pedido "entrega amanhã"`, `"pedido" AND "entrega amanhã"`, `+pedido +entrega +amanhã`},
		{"exclusion", "pedido -cancelado", "pedido -cancelado", `("pedido") NOT ("cancelado")`, "+pedido -cancelado"},
		{"excluded phrase", `pedido -"não chegou"`, `pedido -"não chegou"`, `("pedido") NOT ("não chegou")`, `+pedido`},
		{"two exclusions", "pedido -a1 -b2", "pedido -a1 -b2", `("pedido") NOT ("a1" OR "b2")`, "+pedido -a1 -b2"},
		{"only exclusions", "-pedido", "-pedido", "", ""},
		{"prefix", "entreg*", "entreg*", `"entreg"*`, "+entreg*"},
		{"excluded prefix", "pedido -cancel*", "pedido -cancel*", `("pedido") NOT ("cancel"*)`, "+pedido -cancel*"},
		{"star alone", "*", "", "", ""},
		{"stars", "** * ***", "", "", ""},
		{"minus alone", "-", "", "", ""},
		{"minus space word", "- pedido", "pedido", `"pedido"`, "+pedido"},
		{"double minus", "pedido --cancelado", "pedido -cancelado", `("pedido") NOT ("cancelado")`, "+pedido -cancelado"},
		{"leading star is a separator", "*pedido", "pedido", `"pedido"`, "+pedido"},
		{"star inside splits into a phrase", "ped*ido", `"ped ido"`, `"ped ido"`, `+ped +ido`},
		{"hyphenated word is a phrase", "e-mail", `"e mail"`, `"e mail"`, `+mail`},
		{"hyphenated prefix", "pré-vend*", `pré vend*`, `"pré" AND "vend"*`, "+pré +vend*"},
		{"number with punctuation", "12.500,00", `"12 500 00"`, `"12 500 00"`, `+12 +500 +00`},
		{"plus and boolean operators", "+pedido >entrega <x ~y (a) @3", "pedido entrega x y a 3", `"pedido" AND "entrega" AND "x" AND "y" AND "a" AND "3"`, "+pedido +entrega"},
		{"fts5 operators are words", "pedido OR entrega NOT NEAR AND", "pedido OR entrega NOT NEAR AND", `"pedido" AND "OR" AND "entrega" AND "NOT" AND "NEAR" AND "AND"`, "+pedido +entrega +NOT +NEAR +AND"},
		{"fts5 column filter and caret", "text:pedido ^entrega {text}: NEAR(a b)", `"text pedido" entrega text "NEAR a" b`, `"text pedido" AND "entrega" AND "text" AND "NEAR a" AND "b"`, `+text +pedido +entrega +NEAR`},
		{"sql injection", `'; DROP TABLE messages; --`, "DROP TABLE messages", `"DROP" AND "TABLE" AND "messages"`, "+DROP +TABLE +messages"},
		{"quotes and backslashes", `\"a\\b\" c\'d`, `"a b" "c d"`, `"a b" AND "c d"`, ""},
		{"quote inside a word", `pe"dido entrega"`, `pe "dido entrega"`, `"pe" AND "dido entrega"`, `+pe +dido +entrega`},
		{"emoji only", "🙂🎉", "", "", ""},
		{"emoji around words", "🙂obrigado🎉 valeu", `obrigado valeu`, `"obrigado" AND "valeu"`, "+obrigado +valeu"},
		{"unicode scripts", "Привет 你好 مرحبا", "Привет 你好 مرحبا", `"Привет" AND "你好" AND "مرحبا"`, "+Привет +你好 +مرحبا"},
		{"combining accent", "nao\u0303", "nao\u0303", "\"nao\u0303\"", "+nao\u0303"},
		{"lone combining mark", "\u0301 pedido", "pedido", `"pedido"`, "+pedido"},
		{"invalid utf8", "ped\xffido", `"ped ido"`, `"ped ido"`, `+ped +ido`},
		{"underscore splits", "foo_bar", `"foo bar"`, `"foo bar"`, `+foo +bar`},
		{"stopword and short word dropped from index", "o pedido de", "o pedido de", `"o" AND "pedido" AND "de"`, "+pedido"},
		{"only unindexed words", "a o", "a o", `"a" AND "o"`, ""},
		{"excluded unindexed word", "pedido -o", "pedido -o", `("pedido") NOT ("o")`, "+pedido"},
		{"phrase with a stopword", `"pedido de compra"`, `"pedido de compra"`, `"pedido de compra"`, `+pedido +compra`},
		{"excluded phrase with a stopword", `pedido -"de compra"`, `pedido -"de compra"`, `("pedido") NOT ("de compra")`, "+pedido"},
		{"short prefix", "o*", "o*", `"o"*`, ""},
		{"stopword prefix", "de* pedido", "de* pedido", `"de"* AND "pedido"`, "+pedido"},
	}
	rules := NewFulltextRules(2, 84, InnoDBDefaultStopwords())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := Parse(tt.in)
			if got := q.String(); got != tt.want {
				t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
			}
			if got := FTS5(q); got != tt.fts5 {
				t.Errorf("FTS5(%q) = %q, want %q", tt.in, got, tt.fts5)
			}
			if got := CompileBoolean(q, rules).Against; got != tt.bool2 {
				t.Errorf("CompileBoolean(%q) = %q, want %q", tt.in, got, tt.bool2)
			}
		})
	}
}

func TestParseTerms(t *testing.T) {
	q := Parse(`Pedido entreg* -"não chegou" -x`)
	want := []Term{
		{Kind: KindWord, Words: []string{"Pedido"}},
		{Kind: KindPrefix, Words: []string{"entreg"}},
		{Kind: KindPhrase, Words: []string{"não", "chegou"}, Exclude: true},
		{Kind: KindWord, Words: []string{"x"}, Exclude: true},
	}
	if !reflect.DeepEqual(q.Terms, want) {
		t.Fatalf("terms = %#v, want %#v", q.Terms, want)
	}
	if !q.HasPositive() {
		t.Error("HasPositive = false, want true")
	}
	if Parse("-a -b").HasPositive() {
		t.Error(`Parse("-a -b").HasPositive() = true, want false`)
	}
}

// TestParseHostile checks that no input produces a term with anything but word characters,
// and that output stays bounded.
func TestParseHostile(t *testing.T) {
	inputs := []string{
		strings.Repeat("a", 100000),
		strings.Repeat(`"`, 1001),
		strings.Repeat("-", 5000),
		strings.Repeat("ab ", 10000),
		strings.Repeat(`"x y `, 300),
		strings.Repeat("é", 3000),
		"\x00\x01\x02 pedido \x7f",
		`") OR 1=1 -- `,
		`MATCH(text) AGAINST('x')`,
		`*" NOT "a" OR "b*`,
		"\\\\\\\"\\'",
		"🙂" + strings.Repeat("\u0301", 100),
	}
	rules := DefaultFulltextRules()
	for _, in := range inputs {
		q := Parse(in)
		if len(q.Terms) > MaxTerms {
			t.Errorf("Parse(%.20q…): %d terms, want at most %d", in, len(q.Terms), MaxTerms)
		}
		for _, term := range q.Terms {
			if len(term.Words) == 0 || len(term.Words) > MaxPhrase {
				t.Errorf("Parse(%.20q…): term with %d words", in, len(term.Words))
			}
			for _, w := range term.Words {
				if !utf8.ValidString(w) {
					t.Errorf("Parse(%.20q…): invalid UTF-8 word %q", in, w)
				}
				for _, r := range w {
					if !isWordRune(r) {
						t.Errorf("Parse(%.20q…): word %q holds %q", in, w, r)
					}
				}
			}
		}
		if n := utf8.RuneCountInString(q.String()); n > MaxQueryRunes+2*MaxTerms {
			t.Errorf("Parse(%.20q…).String() has %d characters", in, n)
		}
		for _, s := range []string{FTS5(q), CompileBoolean(q, rules).Against} {
			if strings.ContainsAny(s, "'();\\`@<>~") {
				t.Errorf("compiled %.40q… holds an operator: %q", in, s)
			}
		}
	}
}

func TestCompileBooleanDefaultMinToken(t *testing.T) {
	rules := DefaultFulltextRules() // min token 3, as production servers usually run
	tests := []struct {
		in        string
		against   string
		check     string // the checked terms, as a query
		unindexed []string
	}{
		{"ok obrigado", "+obrigado", "ok", []string{"ok"}},
		{"ok", "", "ok", []string{"ok"}},
		{"ok*", "", "ok*", []string{"ok"}},
		{"obr*", "+obr*", "", nil},
		{"obrigado -ok", "+obrigado", "-ok", []string{"ok"}},
		{`"ok obrigado"`, "+obrigado", `"ok obrigado"`, []string{"ok"}},
		{`obrigado -"ok obrigado"`, "+obrigado", `-"ok obrigado"`, []string{"ok"}},
		{`"the order"`, "+order", `"the order"`, []string{"the"}},
		{`"bom dia" bom`, "+bom +dia", `"bom dia"`, nil},
		{`obrigado -"muito obrigado"`, "+obrigado", `-"muito obrigado"`, nil},
		{"ok -obrigado", "", "ok -obrigado", []string{"ok"}},
		{"Não é", "+Não", "é", []string{"é"}},
		{strings.Repeat("x", 85) + " pedido", "+pedido", strings.Repeat("x", 85), []string{strings.Repeat("x", 85)}},
	}
	for _, tt := range tests {
		plan := CompileBoolean(Parse(tt.in), rules)
		if plan.Against != tt.against {
			t.Errorf("CompileBoolean(%q).Against = %q, want %q", tt.in, plan.Against, tt.against)
		}
		if got := (Query{Terms: plan.Check}).String(); got != tt.check {
			t.Errorf("CompileBoolean(%q).Check = %q, want %q", tt.in, got, tt.check)
		}
		if !reflect.DeepEqual(plan.Unindexed, tt.unindexed) {
			t.Errorf("CompileBoolean(%q).Unindexed = %q, want %q", tt.in, plan.Unindexed, tt.unindexed)
		}
	}
}

func TestTextFilter(t *testing.T) {
	tests := []struct {
		query, text string
		want        bool
	}{
		{"ok", "Ok, obrigado!", true},
		{"ok", "book", false},
		{"ok*", "okay", true},
		{"nao", "Não sei", true},
		{"NÃO", "nao sei", true},
		{`"ok obrigado"`, "ok, obrigado", true},
		{`"ok obrigado"`, "obrigado ok", false},
		{"-ok", "tudo ok", false},
		{"-ok", "tudo certo", true},
		{`-"de compra"`, "pedido de compra", false},
		{`-"de compra"`, "compra de pedido", true},
	}
	for _, tt := range tests {
		f := newTextFilter(Parse(tt.query).Terms)
		if got := f.keep(tt.text); got != tt.want {
			t.Errorf("filter %q on %q = %v, want %v", tt.query, tt.text, got, tt.want)
		}
	}
}

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Não": "nao", "CENOURA": "cenoura", "Ação": "acao", "café": "cafe", "ÉÈÊË": "eeee", "ñ": "n", "Straße": "straße", "Привет": "привет",
	} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestFoldLatinTable checks the fast Latin table against the general folding, letter by letter
// and for whole words.
func TestFoldLatinTable(t *testing.T) {
	for r := rune(0xC0); r <= 0x17F; r++ {
		if got, want := Fold(string(r)), foldUnicode(string(r)); got != want {
			t.Errorf("Fold(%q U+%04X) = %q, want %q", r, r, got, want)
		}
	}
	for _, s := range []string{"Ação São João", "nao\u0303 e\u0301", "İstanbul ĲSSEL Œuvre", "Ελληνικά ΆΈΉ", "Tiếng Việt",
		"Ok 👍 valeu 🇧🇷", "Привет Ёжик", "你好世界", "한국어 조선말", "مَرْحَبًا", "ﬁ ½ Å Ω ≠"} {
		if got, want := Fold(s), foldUnicode(s); got != want {
			t.Errorf("Fold(%q) = %q, want %q", s, got, want)
		}
	}
}
