package handlers

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"coexhistory/internal/apperr"
	"coexhistory/internal/i18n"
	"coexhistory/internal/store"
	"coexhistory/internal/viewer"
	"coexhistory/models"
	"coexhistory/views/pages"
)

// Preferences keeps what each staff member chose for themselves.
type Preferences interface {
	UserPreferences(ctx context.Context, userID uint64) (store.Preferences, error)
	SetUserDisplay(ctx context.Context, userID uint64, timeZone, language string) error
	MarkConversationsSeen(ctx context.Context, userID uint64, at int64) error
}

// The browser's zone, as static/js/app.js reports it (Intl's timeZone): a cookie for page
// loads, a header on every HTMX request.
const (
	zoneCookie = "coex_tz"
	zoneHeader = "X-Timezone"
)

const preferencesKey = "coex.preferences"

// loadViewer puts the reader's zone on the request context: the profile's choice, else
// the browser's, else UTC. It runs after loadSession.
func (h *Handlers) loadViewer(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		v := viewer.Default()
		if loc, name, ok := browserZone(c); ok {
			v.Loc, v.Zone = loc, name
		}
		profileLang := ""
		if p, ok := principal(c); ok && p.UserID > 0 && h.deps.Preferences != nil {
			prefs, err := h.deps.Preferences.UserPreferences(ctx(c), p.UserID)
			if err != nil {
				return apperr.Wrap(apperr.Unavailable, "The database is not answering. Try again in a moment.", err)
			}
			c.Set(preferencesKey, prefs)
			profileLang = prefs.Language
			if prefs.TimeZone != "" {
				if loc, err := viewer.LoadZone(prefs.TimeZone); err == nil {
					v.Loc, v.Zone, v.FromUser = loc, prefs.TimeZone, true
				}
			}
		}
		v.Lang = i18n.Match(profileLang, c.Request().Header.Get("Accept-Language"))
		r := c.Request()
		c.SetRequest(r.WithContext(viewer.WithContext(r.Context(), v)))
		return next(c)
	}
}

// browserZone reads the zone the browser reported: the header, else the cookie.
func browserZone(c echo.Context) (*time.Location, string, bool) {
	names := []string{c.Request().Header.Get(zoneHeader)}
	if ck, err := c.Cookie(zoneCookie); err == nil {
		v, _ := url.QueryUnescape(ck.Value)
		names = append(names, v)
	}
	for _, name := range names {
		if name == "" {
			continue
		}
		if loc, err := viewer.LoadZone(name); err == nil {
			return loc, name, true
		}
	}
	return nil, "", false
}

// preferencesOf returns the signed-in user's preferences loaded by loadViewer.
func preferencesOf(c echo.Context) store.Preferences {
	p, _ := c.Get(preferencesKey).(store.Preferences)
	return p
}

var (
	zoneListOnce sync.Once
	zoneList     []string
)

// zoneNames lists the zones offered in the profile: the common ones of the product's
// users first, then every other canonical name of the Go zone database.
func zoneNames() []string {
	zoneListOnce.Do(func() {
		zoneList = append([]string{"UTC"}, commonZones...)
		seen := map[string]bool{"UTC": true}
		for _, z := range commonZones {
			seen[z] = true
		}
		var rest []string
		for _, z := range allZones {
			if !seen[z] {
				rest = append(rest, z)
			}
		}
		sort.Strings(rest)
		zoneList = append(zoneList, rest...)
	})
	return zoneList
}

// commonZones are Brazil's zones and a few of its neighbours', offered first.
var commonZones = []string{
	"America/Sao_Paulo", "America/Bahia", "America/Fortaleza", "America/Recife", "America/Belem",
	"America/Manaus", "America/Cuiaba", "America/Porto_Velho", "America/Rio_Branco", "America/Noronha",
	"America/Argentina/Buenos_Aires", "America/Montevideo", "America/Santiago", "America/Bogota", "America/Lima",
	"America/Mexico_City", "America/New_York", "America/Chicago", "America/Los_Angeles",
	"Europe/Lisbon", "Europe/London", "Europe/Madrid", "Europe/Berlin", "Africa/Luanda", "Africa/Maputo",
}

// allZones is a broad list of region zones (the zone database has no listing API).
var allZones = []string{
	"Africa/Cairo", "Africa/Johannesburg", "Africa/Lagos", "Africa/Nairobi", "America/Anchorage", "America/Asuncion",
	"America/Caracas", "America/Denver", "America/Guatemala", "America/Halifax", "America/La_Paz", "America/Panama",
	"America/Phoenix", "America/Toronto", "America/Vancouver", "Asia/Bangkok", "Asia/Dubai", "Asia/Hong_Kong",
	"Asia/Jakarta", "Asia/Jerusalem", "Asia/Kolkata", "Asia/Manila", "Asia/Seoul", "Asia/Shanghai", "Asia/Singapore",
	"Asia/Tokyo", "Atlantic/Azores", "Atlantic/Cape_Verde", "Australia/Melbourne", "Australia/Perth", "Australia/Sydney",
	"Europe/Amsterdam", "Europe/Athens", "Europe/Brussels", "Europe/Dublin", "Europe/Istanbul", "Europe/Moscow",
	"Europe/Paris", "Europe/Rome", "Europe/Warsaw", "Europe/Zurich", "Pacific/Auckland", "Pacific/Honolulu",
}

func (h *Handlers) profileView(c echo.Context, f pages.SimpleForm) pages.ProfileView {
	p, _ := principal(c)
	v := viewer.From(ctx(c))
	browser := i18n.T(ctx(c), "profile.zoneUnknown")
	if _, name, ok := browserZone(c); ok {
		browser = name
	}
	return pages.ProfileView{CSRFToken: p.CSRFToken, Email: p.Name, Form: f, Zones: zoneNames(), BrowserZone: browser,
		Now: h.deps.Now(), ZoneLabel: v.ZoneLabel(h.deps.Now())}
}

func (h *Handlers) profilePage(c echo.Context) error {
	prefs := preferencesOf(c)
	f := pages.SimpleForm{Values: map[string]string{"time_zone": prefs.TimeZone, "language": prefs.Language}}
	if c.QueryParam("saved") == "1" {
		f.Message = i18n.T(ctx(c), "profile.saved")
	}
	return render(c, http.StatusOK, pages.Profile(h.page(c, i18n.T(ctx(c), "profile.title"), "profile"), h.profileView(c, f)))
}

// saveProfile stores the profile form; the whole page reloads, since every time on it
// changes with the zone.
func (h *Handlers) saveProfile(c echo.Context) error {
	p, _ := principal(c)
	if p.UserID == 0 {
		return apperr.New(apperr.Forbidden, "Only signed-in staff have a profile.")
	}
	zone, lang := strings.TrimSpace(c.FormValue("time_zone")), strings.TrimSpace(c.FormValue("language"))
	errs := map[string]string{}
	if zone != "" {
		if _, err := viewer.LoadZone(zone); err != nil {
			errs["time_zone"] = i18n.T(ctx(c), "profile.badZone")
		}
	}
	if lang != "" && !i18n.Valid(lang) {
		errs["language"] = i18n.T(ctx(c), "profile.badLanguage")
	}
	if len(errs) > 0 {
		f := pages.SimpleForm{Values: map[string]string{"time_zone": zone, "language": lang}, Errors: errs}
		return render(c, http.StatusUnprocessableEntity, pages.Profile(h.page(c, i18n.T(ctx(c), "profile.title"), "profile"), h.profileView(c, f)))
	}
	if err := h.deps.Preferences.SetUserDisplay(ctx(c), p.UserID, zone, lang); err != nil {
		return err
	}
	_ = h.deps.Admin.Audit(ctx(c), models.AuditEntry{Actor: p.Name, Action: "profile.update", Target: p.Name, Detail: "time_zone=" + zone + " language=" + lang, RemoteIP: c.RealIP()})
	return c.Redirect(http.StatusSeeOther, "/profile?saved=1")
}
