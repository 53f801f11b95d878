package search_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"coexhistory/internal/apperr"
	"coexhistory/internal/search"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

// fixture messages, inserted in this order (so ids ascend with the m-number).
var corpus = []struct {
	wamid, thread string
	ts            int64
	dir, typ      string
	status        string
	origin        string
	text          string
}{
	{"m01", "T1", 1000, "inbound", "text", "", "history", "Bom dia, quero saber do meu pedido"},
	{"m02", "T1", 1010, "outbound", "text", "read", "history", "Bom dia! Seu pedido saiu para entrega amanhã"},
	{"m03", "T1", 1020, "inbound", "text", "", "history", "A entrega vai ser amanhã mesmo?"},
	{"m04", "T1", 1030, "outbound", "text", "delivered", "echo", "Sim, a entrega amanhã está confirmada"},
	{"m05", "T1", 1040, "inbound", "image", "", "history", "foto da cenoura"},
	{"m06", "T1", 1050, "outbound", "text", "failed", "live", "Cenoura orgânica em promoção"},
	{"m07", "T2", 1100, "inbound", "text", "", "history", "Não recebi o boleto"},
	{"m08", "T2", 1100, "outbound", "text", "read", "history", "Nao se preocupe, o boleto foi reenviado"},
	{"m09", "T2", 1200, "inbound", "text", "", "history", "Obrigado! Pedido cancelado por favor"},
	{"m10", "T2", 1300, "outbound", "text", "read", "history", "Pedido cancelado com sucesso. Reembolso em 5 dias"},
	{"m11", "T2", 1400, "inbound", "text", "", "history", "ok obrigado"},
	{"m12", "T2", 1500, "inbound", "reaction", "", "history", "👍"},
	{"m13", "T3", 1600, "inbound", "text", "", "history", "Entregador não encontrou o endereço"},
	{"m14", "T3", 1700, "outbound", "text", "sent", "history", "Vamos reagendar a entrega para amanhã"},
	{"m15", "T3", 1800, "inbound", "text", "", "history", "<script>alert('x')</script> pedido urgente"},
	{"m16", "T3", 1900, "inbound", "text", "", "history", "e-mail: ana@example.com"},
	{"m17", "T3", 2000, "outbound", "text", "read", "history", "Cenouras e batatas chegaram"},
	{"m18", "T1", 2100, "inbound", "text", "", "history", "Pedido de compra número 123"},
	{"m19", "T1", 2100, "inbound", "text", "", "history", "pedido pedido pedido"},
	{"m20", "T2", 2200, "outbound", "audio", "read", "history", ""},
}

func loadCorpus(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	threads := []models.Thread{
		{PhoneNumberID: "pn1", ContactWAID: "5511911110001", ContactName: "Ana Souza"},
		{PhoneNumberID: "pn1", ContactWAID: "5511922220002", ContactName: "Bruno Lima"},
		{PhoneNumberID: "pn2", ContactWAID: "5521933330003", ContactName: "Cecília Dias"},
	}
	byName := map[string]int{"T1": 0, "T2": 1, "T3": 2}
	for _, m := range corpus {
		th := &threads[byName[m.thread]]
		th.MessageCount++
		if th.FirstMessageAt == 0 {
			th.FirstMessageAt = m.ts
		}
		th.LastMessageAt = m.ts
	}
	if err := db.BulkInsertThreads(ctx, threads); err != nil {
		t.Fatal(err)
	}
	var msgs []models.Message
	for _, m := range corpus {
		th := threads[byName[m.thread]]
		msg := models.Message{PhoneNumberID: th.PhoneNumberID, WAMID: m.wamid, ThreadID: th.ID, ContactWAID: th.ContactWAID,
			Direction: m.dir, Type: m.typ, Text: m.text, TS: m.ts, Status: m.status, Origin: m.origin, Raw: "{}"}
		if m.typ == "reaction" {
			msg.ReactionTo = "m10"
		}
		msgs = append(msgs, msg)
	}
	if err := db.BulkInsertMessages(ctx, msgs); err != nil {
		t.Fatal(err)
	}
}

func wamids(rs []search.Result) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.WAMID)
	}
	return out
}

func ids(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Fields(s)
}

// TestSearchSameOnBothDialects runs one table of searches on MariaDB and SQLite: both must
// return exactly these messages, newest first.
func TestSearchSameOnBothDialects(t *testing.T) {
	tests := []struct {
		name string
		p    search.Params
		want string
	}{
		{"word", search.Params{Q: "pedido"}, "m19 m18 m15 m10 m09 m02 m01"},
		{"word in capitals", search.Params{Q: "PEDIDO"}, "m19 m18 m15 m10 m09 m02 m01"},
		{"whole words only", search.Params{Q: "cenoura"}, "m06 m05"},
		{"capitalised word", search.Params{Q: "Cenoura"}, "m06 m05"},
		{"prefix", search.Params{Q: "cenoura*"}, "m17 m06 m05"},
		{"accent-insensitive", search.Params{Q: "nao"}, "m13 m08 m07"},
		{"accented query", search.Params{Q: "não"}, "m13 m08 m07"},
		{"two words", search.Params{Q: "entrega amanhã"}, "m14 m04 m03 m02"},
		{"phrase", search.Params{Q: `"entrega amanhã"`}, "m04 m02"},
		{"phrase without accent", search.Params{Q: `"entrega amanha"`}, "m04 m02"},
		{"unbalanced phrase", search.Params{Q: `"entrega amanhã`}, "m04 m02"},
		{"phrase with a stopword and a short word", search.Params{Q: `"a entrega"`}, "m14 m04 m03"},
		{"stopword alone", search.Params{Q: "de"}, "m18"},
		{"exclusion", search.Params{Q: "pedido -cancelado"}, "m19 m18 m15 m02 m01"},
		{"excluded phrase", search.Params{Q: `pedido -"pedido cancelado"`}, "m19 m18 m15 m02 m01"},
		{"excluded stopword", search.Params{Q: "pedido -de"}, "m19 m15 m10 m09 m02 m01"},
		{"excluded prefix", search.Params{Q: "pedido -cancel*"}, "m19 m18 m15 m02 m01"},
		{"hyphenated word", search.Params{Q: "e-mail"}, "m16"},
		{"number", search.Params{Q: "123"}, "m18"},
		{"html is text", search.Params{Q: "script"}, "m15"},
		{"short word", search.Params{Q: "ok"}, "m11"},
		{"only exclusions match nothing", search.Params{Q: "-pedido"}, ""},
		{"star alone matches nothing", search.Params{Q: "*"}, ""},
		{"punctuation only matches nothing", search.Params{Q: `"" () -`}, ""},
		{"emoji matches nothing", search.Params{Q: "👍"}, ""},
		{"no such word", search.Params{Q: "abacaxi"}, ""},
		{"fts5 operators are words", search.Params{Q: "pedido OR boleto"}, ""},
		{"sql is words", search.Params{Q: `pedido'); DROP TABLE messages; --`}, ""},
		{"direction", search.Params{Q: "boleto", Direction: "outbound"}, "m08"},
		{"number and direction", search.Params{Q: "pedido", PhoneNumberID: "pn1", Direction: "inbound"}, "m19 m18 m09 m01"},
		{"contact name", search.Params{Q: "pedido", Contact: "bruno"}, "m10 m09"},
		{"contact phone prefix", search.Params{Q: "pedido", Contact: "+55 21"}, "m15"},
		{"contact on another number", search.Params{Q: "pedido", Contact: "bruno", PhoneNumberID: "pn2"}, ""},
		{"time range, inclusive", search.Params{Q: "pedido", From: time.Unix(1010, 0), To: time.Unix(1800, 0)}, "m15 m10 m09 m02"},
		{"status", search.Params{Q: "pedido", Status: "read"}, "m10 m02"},
		{"origin", search.Params{Q: "entrega", Origin: "echo"}, "m04"},
		{"type", search.Params{Q: "cenoura", Type: "image"}, "m05"},
		{"all filters", search.Params{Q: "pedido", PhoneNumberID: "pn1", Contact: "5511922", Direction: "outbound", Type: "text",
			Status: "read", Origin: "history", From: time.Unix(1300, 0), To: time.Unix(1300, 0)}, "m10"},
		{"filter only: everything", search.Params{Limit: 100}, "m20 m19 m18 m17 m16 m15 m14 m13 m12 m11 m10 m09 m08 m07 m06 m05 m04 m03 m02 m01"},
		{"filter only: number", search.Params{PhoneNumberID: "pn2"}, "m17 m16 m15 m14 m13"},
		{"filter only: type", search.Params{Type: "reaction"}, "m12"},
		{"filter only: contact", search.Params{Contact: "ana s"}, "m19 m18 m06 m05 m04 m03 m02 m01"},
		{"filter only: status and time", search.Params{Status: "read", To: time.Unix(1300, 0)}, "m10 m08 m02"},
		{"relevance without a query is newest first", search.Params{PhoneNumberID: "pn2", Sort: search.SortRelevance}, "m17 m16 m15 m14 m13"},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		loadCorpus(t, db)
		ctx := context.Background()
		for _, sc := range scanConfigs(db) {
			for _, tt := range tests {
				page, err := sc.s.Search(ctx, tt.p)
				if err != nil {
					t.Errorf("%s, %s: %v", sc.name, tt.name, err)
					continue
				}
				if got := wamids(page.Results); !reflect.DeepEqual(got, ids(tt.want)) {
					t.Errorf("%s, %s: Q %q found %v, want %v", sc.name, tt.name, tt.p.Q, got, ids(tt.want))
				}
				if page.NextCursor != "" {
					t.Errorf("%s, %s: NextCursor %q on the only page", sc.name, tt.name, page.NextCursor)
				}
			}
		}
	})
}

type scanConfig struct {
	name string
	s    search.Searcher
}

// scanConfigs are Searchers that take every path over the small corpus: the defaults (on
// MariaDB the recent window then covers the whole corpus), the FULLTEXT index alone, tiny
// windows and batches (one window or many, then the index, in several steps), and a contact
// scan in small steps.
func scanConfigs(db *store.DB) []scanConfig {
	configs := []scanConfig{{"defaults", search.New(db.SQL(), db.Dialect())}}
	for _, c := range []struct {
		name string
		l    search.ScanLimits
	}{
		{"index only", search.ScanLimits{Batch: 200, MaxScan: 2000}},
		{"tiny windows", search.ScanLimits{Batch: 2, MaxScan: 5, Window: 3, Windows: 2, ContactScan: 0}},
		{"many tiny windows", search.ScanLimits{Batch: 2, MaxScan: 5, Window: 3, Windows: 100, ContactScan: 0}},
		{"tiny contact scan", search.ScanLimits{Batch: 2, MaxScan: 5, Window: 2, Windows: 1, ContactScan: 100}},
		{"relevance falls back", search.ScanLimits{Batch: 2, MaxScan: 5, Window: 3, Windows: 2, RankLimit: 1}},
	} {
		s := search.New(db.SQL(), db.Dialect())
		search.SetScanLimits(s, c.l)
		configs = append(configs, scanConfig{c.name, s})
	}
	return configs
}

func TestSearchResultFields(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		loadCorpus(t, db)
		ctx := context.Background()
		page, err := search.New(db.SQL(), db.Dialect()).Search(ctx, search.Params{Q: "reembolso"})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Results) != 1 {
			t.Fatalf("results = %v, want [m10]", wamids(page.Results))
		}
		r := page.Results[0]
		want := search.Result{WAMID: "m10", ThreadID: r.ThreadID, PhoneNumberID: "pn1", ContactWAID: "5511922220002",
			ContactName: "Bruno Lima", Timestamp: 1300, Text: "Pedido cancelado com sucesso. Reembolso em 5 dias",
			Snippet:   []search.Segment{{Text: "Pedido cancelado com sucesso. "}, {Text: "Reembolso", Match: true}, {Text: " em 5 dias"}},
			Direction: "outbound", Type: "text", Status: "read", Origin: "history"}
		if r.ThreadID == 0 || !reflect.DeepEqual(r, want) {
			t.Errorf("result = %+v\nwant %+v", r, want)
		}

		// Every match of every positive term is highlighted; excluded terms are not.
		page, err = search.New(db.SQL(), db.Dialect()).Search(ctx, search.Params{Q: `"entrega amanhã" bom -cancelado`})
		if err != nil {
			t.Fatal(err)
		}
		if got := wamids(page.Results); !reflect.DeepEqual(got, []string{"m02"}) {
			t.Fatalf("results = %v, want [m02]", got)
		}
		wantSnippet := []search.Segment{{Text: "Bom", Match: true}, {Text: " dia! Seu pedido saiu para "}, {Text: "entrega amanhã", Match: true}}
		if got := page.Results[0].Snippet; !reflect.DeepEqual(got, wantSnippet) {
			t.Errorf("snippet = %#v, want %#v", got, wantSnippet)
		}
		// Markup stays text inside segments (views escape it).
		page, err = search.New(db.SQL(), db.Dialect()).Search(ctx, search.Params{Q: "urgente"})
		if err != nil || len(page.Results) != 1 {
			t.Fatalf("urgente: %v, %v", page.Results, err)
		}
		if got := page.Results[0].Snippet[0].Text; got != "<script>alert('x')</script> pedido " {
			t.Errorf("first segment = %q", got)
		}
	})
}

func TestSearchRelevance(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		loadCorpus(t, db)
		page, err := search.New(db.SQL(), db.Dialect()).Search(context.Background(), search.Params{Q: "pedido", Sort: search.SortRelevance})
		if err != nil {
			t.Fatal(err)
		}
		got := wamids(page.Results)
		if len(got) == 0 || got[0] != "m19" {
			t.Fatalf("by relevance = %v, want m19 (pedido ×3) first", got)
		}
		sort.Strings(got)
		if want := ids("m01 m02 m09 m10 m15 m18 m19"); !reflect.DeepEqual(got, want) {
			t.Errorf("by relevance found %v, want %v", got, want)
		}
		for i, r := range page.Results {
			if r.Score <= 0 || (i > 0 && r.Score > page.Results[i-1].Score) {
				t.Errorf("scores not positive and descending: %d: %v", i, r.Score)
			}
		}
	})
}

// TestSearchRelevanceFallback: on MariaDB a relevance search with too many matches to rank
// comes newest first, says so, and its pages carry on newest first.
func TestSearchRelevanceFallback(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		loadCorpus(t, db)
		ctx := context.Background()
		s := search.New(db.SQL(), db.Dialect())
		search.SetScanLimits(s, search.ScanLimits{Batch: 200, MaxScan: 2000, Window: 3, Windows: 2, ContactScan: 100, RankLimit: 5})
		wantSort, wantFirst := search.SortRelevance, []string{"m19"}
		if db.Dialect() == store.MySQL {
			// The 3 newest messages hold 2 with "pedido": about 13 of 20 messages, over 5.
			wantSort, wantFirst = search.SortNewest, []string{"m19", "m18"}
		}
		var got []string
		p := search.Params{Q: "pedido", Sort: search.SortRelevance, Limit: 2}
		for pages := 0; pages < 10; pages++ {
			page, err := s.Search(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			if page.Sort != wantSort {
				t.Fatalf("page %d sorted %q, want %q", pages, page.Sort, wantSort)
			}
			got = append(got, wamids(page.Results)...)
			if p.Cursor = page.NextCursor; p.Cursor == "" {
				break
			}
		}
		if len(got) != 7 || !reflect.DeepEqual(got[:len(wantFirst)], wantFirst) {
			t.Errorf("walked %v, want 7 results starting %v", got, wantFirst)
		}
		if wantSort == search.SortNewest && !reflect.DeepEqual(got, ids("m19 m18 m15 m10 m09 m02 m01")) {
			t.Errorf("walked %v, want newest first", got)
		}
		// A rare word is ranked.
		page, err := s.Search(ctx, search.Params{Q: "reembolso", Sort: search.SortRelevance})
		if err != nil || page.Sort != search.SortRelevance || len(page.Results) != 1 || page.Results[0].Score <= 0 {
			t.Errorf("rare word by relevance = %+v, %v", page, err)
		}
	})
}

// TestSearchPagination walks searches in pages of 3 (and 1) and compares with one big page:
// no repeats, no gaps, same order.
func TestSearchPagination(t *testing.T) {
	cases := []search.Params{
		{Q: "pedido"},
		{Q: "pedido", PhoneNumberID: "pn1"},
		{Q: "pedido", Contact: "55119"},
		{Q: "pedido", From: time.Unix(1010, 0), To: time.Unix(2100, 0)},
		{Q: "entrega amanhã"},
		{Q: `"entrega amanhã"`},
		{Q: "pedido", Sort: search.SortRelevance},
		{Q: "entrega* amanhã", Sort: search.SortRelevance},
		{Q: "pedido -de"},                     // MariaDB: checked in Go on candidates
		{Q: "de", Sort: search.SortRelevance}, // MariaDB: no indexed word, walks messages
		{Q: `"a entrega"`},
		{},
		{PhoneNumberID: "pn1", Direction: "inbound"},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		loadCorpus(t, db)
		ctx := context.Background()
		for _, sc := range scanConfigs(db) {
			s := sc.s
			for _, p := range cases {
				name := fmt.Sprintf("%s: Q %q sort %q number %q", sc.name, p.Q, p.Sort, p.PhoneNumberID)
				all := p
				all.Limit = 100
				big, err := s.Search(ctx, all)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				want := wamids(big.Results)
				if len(want) == 0 {
					t.Fatalf("%s: no results", name)
				}
				for _, limit := range []int{3, 1} {
					var got []string
					p.Limit, p.Cursor = limit, ""
					for pages := 0; ; pages++ {
						if pages > 40 {
							t.Fatalf("%s: more than 40 pages", name)
						}
						page, err := s.Search(ctx, p)
						if err != nil {
							t.Fatalf("%s: %v", name, err)
						}
						if len(page.Results) > limit {
							t.Fatalf("%s: page of %d, limit %d", name, len(page.Results), limit)
						}
						got = append(got, wamids(page.Results)...)
						if page.NextCursor == "" {
							break
						}
						p.Cursor = page.NextCursor
					}
					if !reflect.DeepEqual(got, want) {
						t.Errorf("%s, limit %d: walked %v, want %v", name, limit, got, want)
					}
				}
			}
		}
	})
}

func TestSearchCursorAndLimits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		loadCorpus(t, db)
		ctx := context.Background()
		s := search.New(db.SQL(), db.Dialect())
		page, err := s.Search(ctx, search.Params{Q: "pedido", Limit: 2})
		if err != nil || len(page.Results) != 2 || page.NextCursor == "" {
			t.Fatalf("first page = %v, %q, %v", wamids(page.Results), page.NextCursor, err)
		}
		// A newest-first cursor on a relevance search carries on newest first (a search that
		// fell back, see TestSearchRelevanceFallback).
		next, err := s.Search(ctx, search.Params{Q: "pedido", Sort: search.SortRelevance, Cursor: page.NextCursor, Limit: 2})
		if err != nil || next.Sort != search.SortNewest || !reflect.DeepEqual(wamids(next.Results), []string{"m15", "m10"}) {
			t.Errorf("relevance with a newest cursor = %v sorted %q, %v; want [m15 m10] newest", wamids(next.Results), next.Sort, err)
		}
		rel, err := s.Search(ctx, search.Params{Q: "pedido", Sort: search.SortRelevance, Limit: 2})
		if err != nil || rel.NextCursor == "" || rel.Sort != search.SortRelevance {
			t.Fatalf("relevance page = %q %q, %v", rel.NextCursor, rel.Sort, err)
		}
		// A relevance cursor does not fit a newest-first search; garbage is no cursor.
		for _, p := range []search.Params{
			{Q: "pedido", Cursor: rel.NextCursor},
			{Q: "pedido", Cursor: "!!!"},
			{Q: "pedido", Cursor: "cnwxfDI"}, // "r|1|2": a relevance cursor missing a part
		} {
			if _, err := s.Search(ctx, p); !apperr.Is(err, apperr.Invalid) {
				t.Errorf("cursor %q: err = %v, want Invalid", p.Cursor, err)
			}
		}
		page, err = s.Search(ctx, search.Params{Limit: 1000})
		if err != nil || len(page.Results) != 20 {
			t.Errorf("limit 1000 = %d results, %v; want all 20 (at most %d)", len(page.Results), err, search.MaxLimit)
		}
		page, err = s.Search(ctx, search.Params{})
		if err != nil || len(page.Results) != 20 {
			t.Errorf("default limit = %d results, %v", len(page.Results), err)
		}
		page, err = s.Search(ctx, search.Params{Q: "de pedido"})
		if err != nil || !reflect.DeepEqual(wamids(page.Results), []string{"m18"}) {
			t.Errorf("de pedido = %v, %v; want [m18]", wamids(page.Results), err)
		}
		wantUnindexed := []string(nil)
		if db.Dialect() == store.MySQL {
			wantUnindexed = []string{"de"}
		}
		if !reflect.DeepEqual(page.Unindexed, wantUnindexed) {
			t.Errorf("Unindexed = %q, want %q", page.Unindexed, wantUnindexed)
		}
		if got := page.Query.String(); got != "de pedido" {
			t.Errorf("Query = %q", got)
		}
	})
}

// TestSearchHostileInput runs hostile queries against both backends: no error, ever.
func TestSearchHostileInput(t *testing.T) {
	inputs := []string{
		`"`, `""`, `"""`, `-`, `--`, `-"`, `*`, `**`, `-*`, `+`, `+-`, `~`, `<>`, `()`, `@`, `@@`,
		`\`, `\\`, `\"`, `'`, `''`, `%`, `_`, `%_%`, `;`, `--`, `/*`, `*/`, "\x00", "\xff\xfe",
		`' OR '1'='1`, `") OR 1=1 --`, `pedido" OR "1"="1`, `MATCH(text) AGAINST('x')`,
		`NEAR(pedido boleto, 2)`, `pedido NOT boleto`, `text:pedido`, `{text}: pedido`, `^pedido`,
		`pedido*ido`, `*pedido*`, `-pedido -boleto`, `"pedido`, `pedido"`, `a-`, `-a-`, `a*b*c*`,
		strings.Repeat("pedido ", 400), strings.Repeat(`"`, 999), strings.Repeat("-", 999), strings.Repeat("é", 2000),
		strings.Repeat("x", 300), "🙂🙂🙂", "🙂pedido🙂", "ação", "NÃO", "Привет", "你好", "مرحبا", "e\u0301",
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		loadCorpus(t, db)
		ctx := context.Background()
		s := search.New(db.SQL(), db.Dialect())
		for _, in := range inputs {
			for _, sort := range []string{search.SortNewest, search.SortRelevance} {
				if _, err := s.Search(ctx, search.Params{Q: in, Sort: sort}); err != nil {
					t.Errorf("Search(%.30q, %s): %v", in, sort, err)
				}
			}
		}
		// The table survived.
		page, err := s.Search(ctx, search.Params{Q: "pedido"})
		if err != nil || len(page.Results) != 7 {
			t.Errorf("after hostile input: %d results, %v", len(page.Results), err)
		}
		if slices.Contains(wamids(page.Results), "") {
			t.Error("empty wamid")
		}
	})
}
