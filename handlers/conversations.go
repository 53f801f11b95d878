package handlers

import (
	"context"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"coexhistory/internal/apperr"
	"coexhistory/internal/store"
	"coexhistory/models"
	"coexhistory/views/components"
	"coexhistory/views/pages"
)

// Conversations reads the previews of the conversations list.
type Conversations interface {
	LastMessages(ctx context.Context, threadIDs []uint64) (map[uint64]store.LastMessage, error)
	FirstMessageFrom(ctx context.Context, threadID uint64, ts int64) (string, error)
}

// conversationsPageSize is how many conversations one page lists.
const conversationsPageSize = 50

// conversationsPage lists every conversation across the numbers, newest activity first.
func (h *Handlers) conversationsPage(c echo.Context) error {
	varyHX(c)
	noStore(c)
	v, status, err := h.conversationsView(c)
	if err != nil {
		return err
	}
	cursor := c.QueryParam("cursor")
	if live := c.QueryParam("live"); live != "" && wantsFragment(c) && live == v.Stamp {
		return c.NoContent(http.StatusNoContent) // the live poll: nothing changed
	}
	if wantsFragment(c) {
		if cursor != "" {
			if v.Error != "" {
				return apperr.New(apperr.Invalid, v.Error)
			}
			return render(c, status, pages.ConversationRows(v))
		}
		return render(c, status, pages.ConversationList(v))
	}
	// Once shown, the whole list up to its newest conversation counts as seen (a filtered
	// list shows only part of it); the page says so with a POST (markConversationsSeen).
	if p, ok := principal(c); ok && p.UserID > 0 && cursor == "" && v.Number == "" && v.Contact == "" && len(v.Rows) > 0 && h.deps.Preferences != nil {
		v.SeenURL = "/conversations/seen?" + url.Values{"at": {strconv.FormatInt(v.Rows[0].LastAt.Unix(), 10)}}.Encode()
	}
	return render(c, status, pages.Conversations(h.page(c, "Conversations", "conversations"), v))
}

// markConversationsSeen is POST /conversations/seen?at=<unix seconds>: the reader has seen
// the conversations list up to that activity (never later than now; an older time than the
// one recorded changes nothing).
func (h *Handlers) markConversationsSeen(c echo.Context) error {
	p, ok := principal(c)
	if !ok || p.UserID == 0 || h.deps.Preferences == nil {
		return c.NoContent(http.StatusNoContent)
	}
	at, err := strconv.ParseInt(c.QueryParam("at"), 10, 64)
	if err != nil || at <= 0 {
		return apperr.New(apperr.Invalid, "at must be a time in unix seconds.")
	}
	at = min(at, h.deps.Now().Unix())
	if err := h.deps.Preferences.MarkConversationsSeen(ctx(c), p.UserID, at); err != nil {
		return fmt.Errorf("mark conversations seen: %w", err)
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *Handlers) conversationsView(c echo.Context) (pages.ConversationsView, int, error) {
	ns, err := h.deps.Numbers.List(ctx(c))
	if err != nil {
		return pages.ConversationsView{}, 0, err
	}
	v := pages.ConversationsView{Number: strings.TrimSpace(c.QueryParam("number")), Contact: strings.TrimSpace(c.QueryParam("contact"))}
	labels := make(map[string]string, len(ns))
	pnid := ""
	for _, n := range ns {
		id := strconv.FormatUint(n.ID, 10)
		labels[n.PhoneNumberID] = n.Label
		v.Numbers = append(v.Numbers, components.Option{Value: id, Label: n.Label + " (+" + n.DisplayPhoneNumber + ")"})
		if id == v.Number {
			pnid = n.PhoneNumberID
		}
	}
	if v.Number != "" && pnid == "" {
		v.Number = ""
	}
	seen := preferencesOf(c).ConversationsSeenAt
	if seen > 0 {
		v.SeenAt = time.Unix(seen, 0).UTC()
	}
	page, err := h.deps.Threads.ListThreads(ctx(c), store.ThreadFilter{PhoneNumberID: pnid, Contact: v.Contact, Cursor: c.QueryParam("cursor"), Limit: conversationsPageSize})
	if err != nil {
		msg, ok := friendly(err)
		if !ok {
			return v, 0, err
		}
		v.Error = msg
		return v, http.StatusUnprocessableEntity, nil
	}
	ids := make([]uint64, len(page.Threads))
	for i, t := range page.Threads {
		ids[i] = t.ID
	}
	last, err := h.deps.Conversations.LastMessages(ctx(c), ids)
	if err != nil {
		return v, 0, fmt.Errorf("conversation previews: %w", err)
	}
	for _, t := range page.Threads {
		m := last[t.ID]
		label := labels[t.PhoneNumberID]
		if label == "" {
			label = t.PhoneNumberID
		}
		row := pages.ConversationRow{ThreadID: t.ID, ContactName: t.ContactName, ContactWAID: phoneOf(t.ContactWAID),
			ContactUserID: t.ContactUserID, ContactUsername: t.ContactUsername, NumberLabel: label,
			MessageCount: t.MessageCount, LastAt: time.Unix(t.LastMessageAt, 0).UTC(), New: seen > 0 && t.LastMessageAt > seen,
			Preview: pages.Preview{Direction: m.Direction, Type: m.Type, Text: m.Text, MimeType: m.MimeType, Deleted: m.Deleted}}
		if row.New {
			v.NewCount++
		}
		v.Rows = append(v.Rows, row)
	}
	if c.QueryParam("cursor") == "" {
		v.Stamp = conversationsStamp(page.Threads)
	}
	if page.NextCursor != "" {
		q := v.Query()
		q.Set("cursor", page.NextCursor)
		v.MoreURL = "/conversations?" + q.Encode()
	}
	return v, http.StatusOK, nil
}

// conversationsStamp sums up what a first page shows: which threads, in which order, with
// how many messages and their last activity.
func conversationsStamp(threads []models.Thread) string {
	h := fnv.New64a()
	for _, t := range threads {
		fmt.Fprintf(h, "%d.%d.%d;", t.ID, t.LastMessageAt, t.MessageCount)
	}
	return strconv.FormatUint(h.Sum64(), 36)
}
