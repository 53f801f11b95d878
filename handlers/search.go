package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"coexhistory/internal/apperr"
	"coexhistory/internal/i18n"
	"coexhistory/internal/search"
	"coexhistory/internal/store"
	"coexhistory/models"
	"coexhistory/views/components"
	"coexhistory/views/pages"
)

// searchForm reads the search box and filters from the query string.
func searchForm(c echo.Context) pages.SearchForm {
	q := c.QueryParams()
	get := func(k string) string { return strings.TrimSpace(q.Get(k)) }
	return pages.SearchForm{
		Q: q.Get("q"), PhoneNumberID: get("phone_number_id"), Contact: get("contact"), From: get("from"), To: get("to"),
		Direction: get("direction"), Type: get("type"), Status: get("status"), Origin: get("origin"), Sort: get("sort"),
	}
}

// searchActive reports whether the form asks for anything (a query or a filter).
func searchActive(f pages.SearchForm) bool {
	return strings.TrimSpace(f.Q) != "" || f.PhoneNumberID != "" || f.Contact != "" || f.From != "" || f.To != "" ||
		f.Direction != "" || f.Type != "" || f.Status != "" || f.Origin != ""
}

// searchURL is the shareable address of a search (empty fields left out); with a cursor, the
// address of its next page. pages is how many pages the address shows (1 or 0: the first),
// so "Load more" can be kept in the URL: Back and shared links show every page loaded.
func searchURL(f pages.SearchForm, cursor string, pages int) string {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("q", f.Q)
	set("phone_number_id", f.PhoneNumberID)
	set("contact", f.Contact)
	set("from", f.From)
	set("to", f.To)
	set("direction", f.Direction)
	set("type", f.Type)
	set("status", f.Status)
	set("origin", f.Origin)
	if f.Sort != "" && f.Sort != search.SortNewest {
		v.Set("sort", f.Sort)
	}
	set("cursor", cursor)
	if pages > 1 {
		v.Set("pages", strconv.Itoa(pages))
	}
	if len(v) == 0 {
		return "/search"
	}
	return "/search?" + v.Encode()
}

// oneOf checks a filter against its allowed values ("" always passes).
func oneOf(field, value string, allowed ...string) error {
	if value == "" {
		return nil
	}
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	return apperr.New(apperr.Invalid, fmt.Sprintf("Unknown %s %q: use %s.", field, value, strings.Join(allowed, " or ")))
}

// normalizeStatus maps the words people use to the stored statuses.
func normalizeStatus(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "failed" {
		return "error"
	}
	return s
}

// searchParams checks the form and builds the search.
func searchParams(f pages.SearchForm, cursor string, limit int) (search.Params, error) {
	from, err := search.ParseTime(f.From, false)
	if err != nil {
		return search.Params{}, err
	}
	to, err := search.ParseTime(f.To, true)
	if err != nil {
		return search.Params{}, err
	}
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		return search.Params{}, apperr.New(apperr.Invalid, "The end date is before the start date.")
	}
	for _, e := range []error{
		oneOf("direction", f.Direction, models.DirectionInbound, models.DirectionOutbound),
		oneOf("origin", f.Origin, models.OriginHistory, models.OriginEcho, models.OriginLive),
		oneOf("order", f.Sort, search.SortNewest, search.SortRelevance),
	} {
		if e != nil {
			return search.Params{}, e
		}
	}
	if len(f.Type) > 64 || len(f.Status) > 64 || len(f.Contact) > 200 || len(f.PhoneNumberID) > 64 {
		return search.Params{}, apperr.New(apperr.Invalid, "A filter is too long.")
	}
	return search.Params{
		Q: f.Q, PhoneNumberID: f.PhoneNumberID, Contact: f.Contact, From: from, To: to,
		Direction: f.Direction, Type: f.Type, Status: normalizeStatus(f.Status), Origin: f.Origin,
		Sort: f.Sort, Cursor: cursor, Limit: limit,
	}, nil
}

// friendly turns errors about the request (bad cursor, dates, filters) into a message for
// the user; other errors stay errors.
func friendly(err error) (string, bool) {
	if errors.Is(err, store.ErrBadCursor) || errors.Is(err, search.ErrBadCursor) {
		return "This page link is no longer valid. Start again from the first page.", true
	}
	if e := apperr.As(err); e.Code == apperr.Invalid {
		return e.Safe, true
	}
	return "", false
}

// wantsFragment reports whether the request should get a fragment: an HTMX request that is
// not restoring a page from history (that one needs the whole page).
func wantsFragment(c echo.Context) bool {
	return isHX(c) && c.Request().Header.Get("HX-History-Restore-Request") != "true"
}

// noStore keeps a page that shows customer messages out of browser and proxy caches (a
// shared computer keeps no copy). Going back to such a page loads its URL again, which
// holds the whole search.
func noStore(c echo.Context) { c.Response().Header().Set("Cache-Control", "no-store") }

// numberIndex maps phone number IDs to registered numbers.
func (h *Handlers) numberIndex(c echo.Context) (map[string]models.BusinessNumber, []models.BusinessNumber, error) {
	ns, err := h.deps.Numbers.List(ctx(c))
	if err != nil {
		return nil, nil, err
	}
	idx := make(map[string]models.BusinessNumber, len(ns))
	for _, n := range ns {
		idx[n.PhoneNumberID] = n
	}
	return idx, ns, nil
}

func numberLabel(idx map[string]models.BusinessNumber, pnid string) string {
	if n, ok := idx[pnid]; ok && n.Label != "" {
		return n.Label
	}
	return "number " + pnid
}

// pageNumberLabel is numberLabel in the words of the page's reader (exports keep English).
func pageNumberLabel(c echo.Context, idx map[string]models.BusinessNumber, pnid string) string {
	if n, ok := idx[pnid]; ok && n.Label != "" {
		return n.Label
	}
	return i18n.T(ctx(c), "number.unregistered", map[string]any{"ID": pnid})
}

// searchPage is GET /search: the whole page, the results region (HTMX form submit, with
// the shareable URL pushed), or the next page of results ("Load more", with cursor).
func (h *Handlers) searchPage(c echo.Context) error {
	varyHX(c)
	noStore(c)
	form := searchForm(c)
	cursor := c.QueryParam("cursor")
	shown := searchPages(c)
	idx, ns, err := h.numberIndex(c)
	if err != nil {
		return err
	}
	v := pages.SearchView{Form: form, Active: searchActive(form) || cursor != ""}
	v.Numbers = append(v.Numbers, components.Option{Value: "", Label: i18n.T(ctx(c), "conv.allNumbers")})
	for _, n := range ns {
		v.Numbers = append(v.Numbers, components.Option{Value: n.PhoneNumberID, Label: n.Label})
	}
	status := http.StatusOK
	fragment := wantsFragment(c)
	if v.Active && fragment && c.QueryParam("count") == "1" {
		return h.searchCountFragment(c, form, v)
	}
	if v.Active {
		// An address without a cursor shows its first `shown` pages; "Load more" adds one.
		n := shown
		if cursor != "" {
			n = 1
		}
		if err := h.runSearch(c, form, cursor, n, shown, idx, &v); err != nil {
			msg, ok := friendly(err)
			if !ok {
				return err
			}
			v.Error, status = msg, http.StatusUnprocessableEntity
		}
	}
	if !fragment {
		return render(c, status, pages.Search(h.page(c, i18n.T(ctx(c), "nav.search"), "search"), v))
	}
	if cursor != "" {
		// The address bar follows "Load more": the search with the pages now shown.
		c.Response().Header().Set("HX-Push-Url", searchURL(form, "", shown))
		return render(c, status, pages.SearchMore(v))
	}
	c.Response().Header().Set("HX-Push-Url", searchURL(form, "", 1))
	return render(c, status, pages.SearchResults(v))
}

// maxSearchPages is how many pages a search address can ask for at once (?pages=).
const maxSearchPages = 20

// searchPages reads ?pages= (1 when absent or junk, at most maxSearchPages).
func searchPages(c echo.Context) int {
	n, err := strconv.Atoi(c.QueryParam("pages"))
	if err != nil || n < 1 {
		return 1
	}
	return min(n, maxSearchPages)
}

// runSearch reads n pages from cursor into v; shown is how many pages the page shows once
// they are in (the next "Load more" asks for shown+1).
func (h *Handlers) runSearch(c echo.Context, form pages.SearchForm, cursor string, n, shown int, idx map[string]models.BusinessNumber, v *pages.SearchView) error {
	for i := 0; i < n; i++ {
		next, err := h.searchOnce(c, form, cursor, idx, v)
		if err != nil {
			return err
		}
		cursor = next
		if cursor == "" {
			break
		}
	}
	if cursor != "" {
		v.MoreURL = searchURL(form, cursor, shown+1)
		v.CountURL = countURL(form)
	} else {
		v.Count, v.CountKnown = len(v.Results), true
	}
	return nil
}

// searchCountBound is how many matches the result count counts exactly; beyond it the page
// says "more than".
const searchCountBound = 500

func countURL(f pages.SearchForm) string {
	u := searchURL(f, "", 1)
	if strings.Contains(u, "?") {
		return u + "&count=1"
	}
	return u + "?count=1"
}

// searchCountFragment counts the matches of a search, reading pages of search.MaxLimit up
// to searchCountBound: exact below it, "more than" at it.
func (h *Handlers) searchCountFragment(c echo.Context, form pages.SearchForm, v pages.SearchView) error {
	cursor, n := "", 0
	for {
		p, err := searchParams(form, cursor, search.MaxLimit)
		if err != nil {
			return err
		}
		page, err := h.deps.Search.Search(ctx(c), p)
		if err != nil {
			if _, ok := friendly(err); ok {
				return c.HTML(http.StatusOK, "") // the search itself shows the error
			}
			return err
		}
		n += len(page.Results)
		cursor = page.NextCursor
		if cursor == "" {
			break
		}
		if n >= searchCountBound {
			v.CountMore = true
			break
		}
	}
	v.Count, v.CountKnown = min(n, searchCountBound), true
	return render(c, http.StatusOK, pages.SearchCount(v))
}

// searchOnce appends one page of results to v and returns the next cursor.
func (h *Handlers) searchOnce(c echo.Context, form pages.SearchForm, cursor string, idx map[string]models.BusinessNumber, v *pages.SearchView) (string, error) {
	p, err := searchParams(form, cursor, search.DefaultLimit)
	if err != nil {
		return "", err
	}
	page, err := h.deps.Search.Search(ctx(c), p)
	if err != nil {
		return "", err
	}
	v.Query, v.Unindexed = page.Query.String(), page.Unindexed
	for _, r := range page.Results {
		res := pages.SearchResult{
			WAMID: r.WAMID, ThreadURL: threadAtURL(r.ThreadID, r.WAMID), ContactName: r.ContactName,
			ContactWAID: phoneOf(r.ContactWAID), NumberLabel: pageNumberLabel(c, idx, r.PhoneNumberID), Time: time.Unix(r.Timestamp, 0).UTC(),
			Direction: r.Direction, Type: r.Type, Status: r.Status, Origin: r.Origin,
		}
		for _, s := range r.Snippet {
			res.Snippet = append(res.Snippet, pages.SnippetPart{Text: s.Text, Match: s.Match})
		}
		v.Results = append(v.Results, res)
	}
	return page.NextCursor, nil
}

// threadAtURL opens a thread at one of its messages, scrolled to and highlighted.
func threadAtURL(threadID uint64, wamid string) string {
	return "/threads/" + strconv.FormatUint(threadID, 10) + "?at=" + url.QueryEscape(wamid) + "#hit"
}

// apiSearch is GET /api/v1/search?q=&phone_number_id=&contact=&from=&to=&direction=&type=
// &status=&origin=&sort=&limit=&cursor= → {"data":[…],"next_cursor"}; next_cursor is "" on the
// last page, status null when unknown.
func (h *Handlers) apiSearch(c echo.Context) error {
	limit, err := limitParam(c, search.MaxLimit)
	if err != nil {
		return err
	}
	p, err := searchParams(searchForm(c), c.QueryParam("cursor"), limit)
	if err != nil {
		return err
	}
	page, err := h.deps.Search.Search(ctx(c), p)
	if err != nil {
		if errors.Is(err, search.ErrBadCursor) && !apperr.Is(err, apperr.Invalid) {
			return apperr.Wrap(apperr.Invalid, "The cursor is not valid for this search.", err)
		}
		return err
	}
	out := make([]searchResultJSON, 0, len(page.Results))
	for _, r := range page.Results {
		snippet := snippetJSON(r.Snippet)
		out = append(out, searchResultJSON{
			WAMID: r.WAMID, ThreadID: r.ThreadID, PhoneNumberID: r.PhoneNumberID, ContactWAID: phoneOf(r.ContactWAID),
			ContactName: r.ContactName, Timestamp: r.Timestamp, Text: r.Text, Snippet: snippet,
			Direction: r.Direction, Type: r.Type, Status: deliveryStatus(r.Direction, r.Status), Origin: r.Origin,
		})
	}
	return c.JSON(http.StatusOK, map[string]any{"data": out, "next_cursor": page.NextCursor})
}

// limitParam reads ?limit= (0 when absent: the default applies).
func limitParam(c echo.Context, maxLimit int) (int, error) {
	s := c.QueryParam("limit")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxLimit {
		return 0, apperr.New(apperr.Invalid, fmt.Sprintf("limit must be a number from 1 to %d.", maxLimit))
	}
	return n, nil
}

// nullable is s, or JSON null when s is empty.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
