// Package viewer carries who is looking at a page, for rendering: their time zone (from the
// browser, or their profile) and language. Handlers put a Viewer on the request context;
// templates read it back with From, so every time on a page is in the reader's zone.
package viewer

import (
	"context"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // zone names work on machines without /usr/share/zoneinfo
)

// Viewer is how one reader wants to see times and text.
type Viewer struct {
	Loc      *time.Location // never nil once set by WithContext; UTC by default
	Zone     string         // IANA name, e.g. America/Sao_Paulo
	FromUser bool           // the zone comes from the profile, not the browser
	Lang     string         // BCP 47 tag of the interface language, e.g. en, pt-BR
}

type ctxKey struct{}

// Default is the viewer of a request that said nothing: UTC, English.
func Default() Viewer { return Viewer{Loc: time.UTC, Zone: "UTC", Lang: "en"} }

// WithContext returns ctx carrying v.
func WithContext(ctx context.Context, v Viewer) context.Context {
	if v.Loc == nil {
		v.Loc, v.Zone = time.UTC, "UTC"
	}
	if v.Lang == "" {
		v.Lang = "en"
	}
	return context.WithValue(ctx, ctxKey{}, v)
}

// From returns the viewer on ctx, or Default.
func From(ctx context.Context) Viewer {
	if ctx != nil {
		if v, ok := ctx.Value(ctxKey{}).(Viewer); ok {
			return v
		}
	}
	return Default()
}

// maxZoneLen bounds what a cookie or header may ask for before it is parsed.
const maxZoneLen = 64

// LoadZone parses an IANA zone name as browsers report it (Intl's timeZone). Local and
// relative names are refused: a zone must name a place or UTC.
func LoadZone(name string) (*time.Location, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > maxZoneLen || name == "Local" || strings.Contains(name, "..") || strings.HasPrefix(name, "/") {
		return nil, fmt.Errorf("not a time zone: %q", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '/' || r == '_' || r == '-' || r == '+') {
			return nil, fmt.Errorf("not a time zone: %q", name)
		}
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("not a time zone: %q", name)
	}
	return loc, nil
}

// In returns t in the viewer's zone.
func (v Viewer) In(t time.Time) time.Time {
	if v.Loc == nil {
		return t.UTC()
	}
	return t.In(v.Loc)
}

// Exact is the full time to the second with the zone's offset: "2025-01-02 04:33:05 -03".
func (v Viewer) Exact(t time.Time) string {
	return v.In(t).Format("2006-01-02 15:04:05 ") + Offset(v.In(t))
}

// Minute is the date and time to the minute: "2025-01-02 04:33".
func (v Viewer) Minute(t time.Time) string { return v.In(t).Format("2006-01-02 15:04") }

// Clock is the time of day: "04:33".
func (v Viewer) Clock(t time.Time) string { return v.In(t).Format("15:04") }

// Date is the day: "2025-01-02".
func (v Viewer) Date(t time.Time) string { return v.In(t).Format(time.DateOnly) }

// ZoneLabel names the zone once per page: "America/Sao_Paulo (UTC-03:00)".
func (v Viewer) ZoneLabel(now time.Time) string {
	if v.Zone == "" || v.Zone == "UTC" {
		return "UTC"
	}
	return v.Zone + " (UTC" + v.In(now).Format("-07:00") + ")"
}

// Offset is the zone's offset at t, shortest form: "UTC", "+01", "-03", "+05:30".
func Offset(t time.Time) string {
	_, off := t.Zone()
	if off == 0 {
		return "UTC"
	}
	if off%3600 == 0 {
		return t.Format("-07")
	}
	return t.Format("-07:00")
}

// Count writes n with the thousands separator of the viewer's language: 60,000 in English,
// 60.000 in Portuguese.
func (v Viewer) Count(n int64) string {
	sep := ","
	if strings.HasPrefix(v.Lang, "pt") {
		sep = "."
	}
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
