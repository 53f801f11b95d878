// Package i18n holds the interface's words in English and Brazilian Portuguese. The
// catalogues are files (locales/*.json, embedded); templates ask for a message by its id
// with T, in the language of the request's viewer (see internal/viewer).
package i18n

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"coexhistory/internal/viewer"
)

//go:embed locales/*.json
var locales embed.FS

// Languages are the interface languages, the default first.
var Languages = []language.Tag{language.English, language.BrazilianPortuguese}

// Names are the languages as their speakers name them (the profile's choice).
var Names = map[string]string{"en": "English", "pt-BR": "Português (Brasil)"}

var (
	bundle     = goi18n.NewBundle(language.English)
	localizers = map[string]*goi18n.Localizer{}
	matcher    = language.NewMatcher(Languages)
)

func init() {
	bundle.RegisterUnmarshalFunc("json", json.Unmarshal)
	files, err := fs.Glob(locales, "locales/*.json")
	if err != nil {
		panic(err)
	}
	for _, f := range files {
		if _, err := bundle.LoadMessageFileFS(locales, f); err != nil {
			panic(fmt.Sprintf("i18n: %s: %v", f, err))
		}
	}
	for _, t := range Languages {
		localizers[t.String()] = goi18n.NewLocalizer(bundle, t.String())
	}
	en, err := catalogue("en")
	if err != nil {
		panic(err)
	}
	for id, s := range en {
		if knownPrefix(id) && !strings.Contains(s, "{{") {
			known[s] = id
			knownByLength = append(knownByLength, s)
		}
	}
	sort.Slice(knownByLength, func(i, j int) bool {
		if len(knownByLength[i]) != len(knownByLength[j]) {
			return len(knownByLength[i]) > len(knownByLength[j])
		}
		return knownByLength[i] < knownByLength[j]
	})
}

// known maps the English of the catalogue's err.* and note.* messages to their ids (see
// Known); knownByLength lists those English texts, longest first (see KnownAll).
var (
	known         = map[string]string{}
	knownByLength []string
)

func knownPrefix(id string) bool {
	return strings.HasPrefix(id, "err.") || strings.HasPrefix(id, "note.")
}

// Known is s in the viewer's language when s is the English of an err.* or note.* message
// of the catalogues: the words of an error or a note that services write in English (the
// JSON API keeps them so) and a page shows. A reference in parentheses at the end, such as
// "(code 131056, HTTP 429)", is kept as it is. Any other s is returned unchanged.
func Known(ctx context.Context, s string) string {
	lang := viewer.From(ctx).Lang
	if lang == "en" {
		return s
	}
	if id, ok := known[s]; ok {
		return Lang(lang, id)
	}
	if i := strings.LastIndex(s, " ("); i > 0 && strings.HasSuffix(s, ")") {
		if id, ok := known[s[:i]]; ok {
			return Lang(lang, id) + s[i:]
		}
	}
	return s
}

// KnownAll is Known for a text that joins several such messages with spaces, such as a
// service's notice "<note> <note>": each known English message in s is translated.
func KnownAll(ctx context.Context, s string) string {
	lang := viewer.From(ctx).Lang
	if lang == "en" || s == "" {
		return s
	}
	if t := Known(ctx, s); t != s {
		return t
	}
	for _, en := range knownByLength {
		if strings.Contains(s, en) {
			s = strings.ReplaceAll(s, en, Lang(lang, known[en]))
		}
	}
	return s
}

// Match picks the interface language for a profile choice (may be "") and an
// Accept-Language header: "en" or "pt-BR".
func Match(profile, acceptLanguage string) string {
	if _, ok := localizers[profile]; ok {
		return profile
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return "en"
	}
	_, i, conf := matcher.Match(tags...)
	if conf == language.No {
		return "en"
	}
	return Languages[i].String()
}

// Valid reports whether lang is an interface language ("" is not).
func Valid(lang string) bool { _, ok := localizers[lang]; return ok }

// T is the message id in the viewer's language; data fills its {{.Placeholders}}. A
// missing message shows its id, so it is noticed (and TestCatalogues fails first).
func T(ctx context.Context, id string, data ...map[string]any) string {
	return Lang(viewer.From(ctx).Lang, id, data...)
}

// N is the plural message id for count n ("1 message", "2 messages"); {{.Count}} is n
// with the language's thousands separator.
func N(ctx context.Context, id string, n int64) string {
	v := viewer.From(ctx)
	l := localizer(v.Lang)
	s, err := l.Localize(&goi18n.LocalizeConfig{MessageID: id, PluralCount: n, TemplateData: map[string]any{"Count": v.Count(n)}})
	if err != nil {
		return id
	}
	return s
}

// NPlain is N with {{.Count}} written as plain digits ("1000"), for the pages whose English
// always showed counts so; data adds other placeholders.
func NPlain(ctx context.Context, id string, n int64, data ...map[string]any) string {
	td := map[string]any{}
	if len(data) > 0 {
		for k, v := range data[0] {
			td[k] = v
		}
	}
	td["Count"] = fmt.Sprint(n)
	s, err := localizer(viewer.From(ctx).Lang).Localize(&goi18n.LocalizeConfig{MessageID: id, PluralCount: n, TemplateData: td})
	if err != nil {
		return id
	}
	return s
}

// Lang is T for an explicit language.
func Lang(lang, id string, data ...map[string]any) string {
	cfg := &goi18n.LocalizeConfig{MessageID: id}
	if len(data) > 0 {
		cfg.TemplateData = data[0]
	}
	s, err := localizer(lang).Localize(cfg)
	if err != nil {
		return id
	}
	return s
}

func localizer(lang string) *goi18n.Localizer {
	if l, ok := localizers[lang]; ok {
		return l
	}
	return localizers["en"]
}

// Weekday and month names of the languages other than English.
var (
	ptWeekdays = [...]string{"domingo", "segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado"}
	ptMonths   = [...]string{"janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro", "novembro", "dezembro"}
)

// Day is a calendar day in words: "Monday, 2 January 2006" or "segunda-feira, 2 de janeiro
// de 2006".
func Day(ctx context.Context, t time.Time) string {
	if !strings.HasPrefix(viewer.From(ctx).Lang, "pt") {
		return t.Format("Monday, 2 January 2006")
	}
	return fmt.Sprintf("%s, %d de %s de %d", ptWeekdays[t.Weekday()], t.Day(), ptMonths[t.Month()-1], t.Year())
}

// catalogue reads one locale file as id → message (plural forms joined), for tests.
func catalogue(lang string) (map[string]string, error) {
	b, err := locales.ReadFile(path.Join("locales", lang+".json"))
	if err != nil {
		return nil, err
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(raw))
	for id, v := range raw {
		switch v := v.(type) {
		case string:
			out[id] = v
		case map[string]any:
			var parts []string
			for k, p := range v {
				parts = append(parts, k+"="+fmt.Sprint(p))
			}
			out[id] = strings.Join(parts, ";")
		}
	}
	return out, nil
}
