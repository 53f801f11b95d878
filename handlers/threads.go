package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"coexhistory/internal/apperr"
	"coexhistory/internal/export"
	"coexhistory/internal/i18n"
	"coexhistory/internal/store"
	"coexhistory/internal/viewer"
	"coexhistory/models"
	"coexhistory/views/pages"
)

// threadPageSize is how many messages a page of the thread view shows.
const threadPageSize = 50

// errThreadNotFound is the thread-not-found error users see.
func errThreadNotFound(err error) error {
	return apperr.Wrap(apperr.NotFound, "This conversation does not exist.", err)
}

// badCursor classifies a page cursor we did not make.
func badCursor(err error) error {
	if errors.Is(err, store.ErrBadCursor) {
		return apperr.Wrap(apperr.Invalid, "This page link is no longer valid. Start again from the first page.", err)
	}
	return err
}

// getThread reads a thread by the :id path parameter.
func (h *Handlers) getThread(c echo.Context) (models.Thread, error) {
	id, err := idParam(c)
	if err != nil {
		return models.Thread{}, err
	}
	t, err := h.deps.Threads.GetThread(ctx(c), id)
	if errors.Is(err, store.ErrNotFound) {
		return t, errThreadNotFound(err)
	}
	return t, err
}

// numberThreads is GET /numbers/:id/threads: a number's conversations by recent activity,
// filtered by contact. HTMX gets the list region (the filter, or a page that loads the list
// into itself), or the next rows (cursor). The filtered list's URL is pushed only when the
// request comes from the list page itself.
func (h *Handlers) numberThreads(c echo.Context) error {
	varyHX(c)
	noStore(c)
	n, err := h.numberFromPath(c)
	if err != nil {
		return err
	}
	contact, cursor := strings.TrimSpace(c.QueryParam("contact")), c.QueryParam("cursor")
	v, status, err := h.ThreadsView(c, n, contact, cursor)
	if err != nil {
		return err
	}
	if !wantsFragment(c) {
		return render(c, status, pages.Threads(h.page(c, i18n.T(ctx(c), "conv.title")+" · "+n.Label, "numbers"), v))
	}
	if cursor != "" {
		if v.Error != "" {
			return apperr.New(apperr.Invalid, v.Error)
		}
		return render(c, status, pages.ThreadRows(v))
	}
	if current, err := url.Parse(c.Request().Header.Get("HX-Current-URL")); err == nil && current.Path == v.ListURL() {
		push := v.ListURL()
		if contact != "" {
			push += "?" + url.Values{"contact": {contact}}.Encode()
		}
		c.Response().Header().Set("HX-Push-Url", push)
	}
	return render(c, status, pages.ThreadList(v))
}

// ThreadsView reads a page of a number's conversations for pages.ThreadsSection (the number
// page can show it too). A bad cursor gives a view with Error and status 422, not an error.
func (h *Handlers) ThreadsView(c echo.Context, n models.BusinessNumber, contact, cursor string) (pages.ThreadsView, int, error) {
	v := pages.ThreadsView{NumberID: n.ID, NumberLabel: n.Label, NumberDisplay: n.DisplayPhoneNumber,
		PhoneNumberID: n.PhoneNumberID, Contact: contact}
	page, err := h.deps.Threads.ListThreads(ctx(c), store.ThreadFilter{PhoneNumberID: n.PhoneNumberID, Contact: contact, Cursor: cursor})
	if err != nil {
		msg, ok := friendly(err)
		if !ok {
			return v, 0, err
		}
		v.Error = msg
		return v, http.StatusUnprocessableEntity, nil
	}
	for _, t := range page.Threads {
		v.Rows = append(v.Rows, pages.ThreadRow{ID: t.ID, ContactName: t.ContactName, ContactWAID: phoneOf(t.ContactWAID),
			ContactUserID: t.ContactUserID, ContactUsername: t.ContactUsername,
			MessageCount: t.MessageCount, FirstMessage: time.Unix(t.FirstMessageAt, 0).UTC(), LastMessage: time.Unix(t.LastMessageAt, 0).UTC()})
	}
	if page.NextCursor != "" {
		q := url.Values{"cursor": {page.NextCursor}}
		if contact != "" {
			q.Set("contact", contact)
		}
		v.MoreURL = v.ListURL() + "?" + q.Encode()
	}
	return v, http.StatusOK, nil
}

// threadPage is GET /threads/:id: the chat, at its newest messages, or around ?at=<wamid>
// (highlighted). With ?before= or ?after= (a page cursor) and HTMX it is the fragment of
// older or newer messages; ?day= is the day shown next to the loader (see pages.ChatPage).
func (h *Handlers) threadPage(c echo.Context) error {
	varyHX(c)
	noStore(c)
	t, err := h.getThread(c)
	if err != nil {
		return err
	}
	idx, _, err := h.numberIndex(c)
	if err != nil {
		return err
	}
	at, before, after := c.QueryParam("at"), c.QueryParam("before"), c.QueryParam("after")
	if day := c.QueryParam("date"); day != "" && at == "" && before == "" && after == "" {
		// Jump to a date (in the reader's zone): open its first message, highlighted.
		d, err := time.ParseInLocation(time.DateOnly, day, viewer.From(ctx(c)).Loc)
		if err != nil {
			return apperr.New(apperr.Invalid, "Choose a date such as 2025-10-10.")
		}
		wamid, err := h.deps.Conversations.FirstMessageFrom(ctx(c), t.ID, d.Unix())
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		at = wamid
	}
	req := store.MessagePage{Limit: threadPageSize}
	switch {
	case before != "":
		req.Before = before
	case after != "":
		req.After = after
	case at != "":
		req.Around = at
	default:
		req.Latest = true
	}
	var notice string
	if at != "" && req.Around != "" {
		// A reaction is shown under the message it reacts to: open that one (a reaction to a
		// message the archive lacks is listed itself).
		if m, err := h.deps.Threads.MessageByWAMID(ctx(c), t.PhoneNumberID, at); err == nil && m.Type == "reaction" && m.ReactionTo != "" {
			if target, err := h.deps.Threads.MessageByWAMID(ctx(c), t.PhoneNumberID, m.ReactionTo); err == nil && target.Type != "reaction" {
				at, req.Around = m.ReactionTo, m.ReactionTo
			}
		}
	}
	list, err := h.deps.Threads.ThreadMessages(ctx(c), t.ID, req)
	if errors.Is(err, store.ErrNotFound) && req.Around != "" {
		notice = i18n.T(ctx(c), "thread.notice.notHere")
		at = ""
		list, err = h.deps.Threads.ThreadMessages(ctx(c), t.ID, store.MessagePage{Latest: true, Limit: threadPageSize})
	}
	if err != nil {
		return badCursor(err)
	}
	live := c.QueryParam("live") == "1" && after != "" && wantsFragment(c)
	var changed []store.ThreadMessage
	if live {
		if changed, err = h.liveChanges(c, t.ID, after); err != nil {
			return err
		}
		if len(list.Messages) == 0 && len(changed) == 0 {
			return c.NoContent(http.StatusNoContent) // a live view's poll: nothing new yet
		}
	}
	chat, err := h.chatPage(c, t, list, at)
	if err != nil {
		return err
	}
	if live {
		if len(chat.Messages) == 0 {
			chat.LiveURL = h.liveURL(c, t.ID, after, c.QueryParam("day"), c.QueryParam("from"))
		}
		bubbles, err := h.chatPage(c, t, store.MessageList{Messages: changed}, "")
		if err != nil {
			return err
		}
		chat.Changed = bubbles.Messages
	}
	if wantsFragment(c) && (before != "" || after != "") {
		chat.JoinDay = c.QueryParam("day")
		if before != "" {
			return render(c, http.StatusOK, pages.ChatOlder(chat))
		}
		return render(c, http.StatusOK, pages.ChatNewer(chat))
	}
	p, _ := principal(c)
	v := pages.ThreadView{
		ID: t.ID, ContactName: t.ContactName, ContactWAID: phoneOf(t.ContactWAID), PhoneNumberID: t.PhoneNumberID,
		ContactUserID: t.ContactUserID, ContactUsername: t.ContactUsername,
		NumberLabel: pageNumberLabel(c, idx, t.PhoneNumberID), MessageCount: t.MessageCount,
		FirstMessage: time.Unix(t.FirstMessageAt, 0).UTC(), LastMessage: time.Unix(t.LastMessageAt, 0).UTC(),
		CanExport: p.IsAdmin(), Notice: notice, Chat: chat, JumpDate: c.QueryParam("date"),
	}
	if n, ok := idx[t.PhoneNumberID]; ok {
		v.NumberID = n.ID
	}
	return render(c, http.StatusOK, pages.Thread(h.page(c, v.ContactTitle(), "numbers"), v))
}

// chatPage builds the bubbles of a page, with reactions and the loaders' addresses.
func (h *Handlers) chatPage(c echo.Context, t models.Thread, list store.MessageList, at string) (pages.ChatPage, error) {
	reactions, err := h.reactions(c, t.PhoneNumberID, list.Messages)
	if err != nil {
		return pages.ChatPage{}, err
	}
	now := h.deps.Now().UTC()
	jobs, onboarded, admin, err := h.chatMedia(c, t.PhoneNumberID, list.Messages)
	if err != nil {
		return pages.ChatPage{}, err
	}
	chat := pages.ChatPage{Messages: make([]pages.ChatMessage, 0, len(list.Messages))}
	base := "/threads/" + strconv.FormatUint(t.ID, 10)
	quoted := h.quotedLookup(c, t.PhoneNumberID, list.Messages)
	edits, err := h.editHistories(c, t.PhoneNumberID, list.Messages)
	if err != nil {
		return pages.ChatPage{}, err
	}
	for _, m := range list.Messages {
		cm := chatMessage(t.PhoneNumberID, m, now)
		cm.Kinds = kindsViewOf(ctx(c), base, contentOf(m), quoted)
		cm.Media = mediaViewOf(t.PhoneNumberID, m, jobOf(jobs, m), onboarded, now, admin)
		cm.Time = viewer.From(ctx(c)).In(cm.Time) // day separators and clocks in the reader's zone
		cm.Highlighted = at != "" && m.WAMID == at
		for _, r := range reactions[m.WAMID] {
			cm.Reactions = append(cm.Reactions, pages.ChatReaction{Emoji: r.Emoji, Direction: r.Direction})
		}
		if e, ok := edits[m.WAMID]; ok {
			cm.Versions = chatVersions(ctx(c), m, e)
		}
		chat.Messages = append(chat.Messages, cm)
	}
	if list.PrevCursor != "" && len(chat.Messages) > 0 {
		chat.OlderURL = base + "?" + url.Values{"before": {list.PrevCursor}, "day": {chat.Messages[0].Day()}}.Encode()
	}
	if list.NextCursor != "" && len(chat.Messages) > 0 {
		chat.NewerURL = base + "?" + url.Values{"after": {list.NextCursor}, "day": {chat.Messages[len(chat.Messages)-1].Day()}}.Encode()
	}
	if list.NextCursor == "" && len(chat.Messages) > 0 {
		// The end of the thread is on the page: it polls for what arrives after it, and for
		// what changes from the page's first message on.
		first, last := list.Messages[0], list.Messages[len(list.Messages)-1]
		from := c.QueryParam("from")
		if from == "" || c.QueryParam("live") != "1" {
			from = store.MessageCursor(first.TS, first.WAMID)
		}
		chat.LiveURL = h.liveURL(c, t.ID, store.MessageCursor(last.TS, last.WAMID), chat.Messages[len(chat.Messages)-1].Day(), from)
	}
	return chat, nil
}

// liveChangeMargin is how far back a live poll looks for changes before the time its page
// was made: a change committed meanwhile with an earlier time (another instance's clock, a
// long transaction) is still seen; changes in the margin are sent again, which is harmless.
const liveChangeMargin = 3 * time.Second

// liveURL is where the end of a thread polls: messages after the cursor after, and changes
// of the messages from the cursor from on, since now less the margin.
func (h *Handlers) liveURL(c echo.Context, threadID uint64, after, day, from string) string {
	since := h.deps.Now().Add(-liveChangeMargin).UnixMilli()
	return "/threads/" + strconv.FormatUint(threadID, 10) + "?" + url.Values{"after": {after}, "day": {day}, "live": {"1"},
		"from": {from}, "since": {strconv.FormatInt(since, 10)}}.Encode()
}

// liveChanges are the messages a live poll re-renders: those from the page's first message
// (?from) to its last (after) changed since ?since (unix milliseconds). A poll from an older
// page without them gets none.
func (h *Handlers) liveChanges(c echo.Context, threadID uint64, after string) ([]store.ThreadMessage, error) {
	from, sinceMS := c.QueryParam("from"), c.QueryParam("since")
	if from == "" || sinceMS == "" {
		return nil, nil
	}
	ms, err := strconv.ParseInt(sinceMS, 10, 64)
	if err != nil {
		return nil, apperr.New(apperr.Invalid, "since must be a time in unix milliseconds.")
	}
	changed, err := h.deps.Threads.ChangedMessages(ctx(c), threadID, from, after, time.UnixMilli(ms), store.MaxMessageLimit)
	if err != nil {
		return nil, badCursor(err)
	}
	return changed, nil
}

func (h *Handlers) reactions(c echo.Context, pnid string, msgs []store.ThreadMessage) (map[string][]store.Reaction, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	wamids := make([]string, len(msgs))
	for i, m := range msgs {
		wamids[i] = m.WAMID
	}
	r, err := h.deps.Threads.ReactionsFor(ctx(c), pnid, wamids)
	if err != nil {
		return nil, fmt.Errorf("read reactions: %w", err)
	}
	return r, nil
}

// chatMessage shapes one stored message as a bubble.
func chatMessage(pnid string, m store.ThreadMessage, now time.Time) pages.ChatMessage {
	cm := pages.ChatMessage{
		ID: m.ID, WAMID: m.WAMID, PhoneNumberID: pnid, Direction: m.Direction, Type: m.Type, Text: m.Text,
		Status: m.Status, Origin: m.Origin, Time: time.Unix(m.TS, 0).UTC(), Edited: m.Edited, Deleted: m.Deleted,
		ReactionTo: m.ReactionTo,
	}
	if loc := locationOf(m); loc != nil {
		cm.Location = &pages.ChatLocation{
			Latitude: strconv.FormatFloat(loc.Latitude, 'f', -1, 64), Longitude: strconv.FormatFloat(loc.Longitude, 'f', -1, 64),
			Name: loc.Name, Address: loc.Address, MapURL: mapURL(loc.Latitude, loc.Longitude),
		}
	}
	return cm
}

// locationOf reads the place of a location message from its raw JSON ({"location":{…}}),
// or nil.
func locationOf(m store.ThreadMessage) *export.Location {
	if m.Type != "location" || m.Raw == "" {
		return nil
	}
	var raw struct {
		Location *struct {
			Latitude  json.Number `json:"latitude"`
			Longitude json.Number `json:"longitude"`
			Name      string      `json:"name"`
			Address   string      `json:"address"`
		} `json:"location"`
	}
	dec := json.NewDecoder(strings.NewReader(m.Raw))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil || raw.Location == nil {
		return nil
	}
	lat, err1 := strconv.ParseFloat(raw.Location.Latitude.String(), 64)
	lng, err2 := strconv.ParseFloat(raw.Location.Longitude.String(), 64)
	if err1 != nil || err2 != nil {
		return nil
	}
	return &export.Location{Latitude: lat, Longitude: lng, Name: raw.Location.Name, Address: raw.Location.Address}
}

// apiListThreads is GET /api/v1/threads?phone_number_id=&contact=&limit=&cursor= →
// {"data":[{"id","phone_number_id","contact_wa_id","contact_name","message_count",
// "first_message_at","last_message_at"}],"next_cursor"} by recent activity; next_cursor is ""
// on the last page.
func (h *Handlers) apiListThreads(c echo.Context) error {
	limit, err := limitParam(c, store.MaxThreadLimit)
	if err != nil {
		return err
	}
	page, err := h.deps.Threads.ListThreads(ctx(c), store.ThreadFilter{
		PhoneNumberID: strings.TrimSpace(c.QueryParam("phone_number_id")), Contact: c.QueryParam("contact"),
		Cursor: c.QueryParam("cursor"), Limit: limit,
	})
	if err != nil {
		return badCursor(err)
	}
	return c.JSON(http.StatusOK, threadPageJSON{Threads: threadsJSON(page.Threads), NextCursor: page.NextCursor})
}

// apiThreadMessages is GET /api/v1/threads/:id/messages?limit=&cursor= → the thread's
// messages in thread order (oldest first): {"data":[…],"next_cursor"}; next_cursor is "" on
// the last page. Reactions are not listed as messages but under "reactions" of the message
// they react to.
func (h *Handlers) apiThreadMessages(c echo.Context) error {
	limit, err := limitParam(c, store.MaxMessageLimit)
	if err != nil {
		return err
	}
	t, err := h.getThread(c)
	if err != nil {
		return err
	}
	list, err := h.deps.Threads.ThreadMessages(ctx(c), t.ID, store.MessagePage{After: c.QueryParam("cursor"), Limit: limit})
	if err != nil {
		return badCursor(err)
	}
	reactions, err := h.reactions(c, t.PhoneNumberID, list.Messages)
	if err != nil {
		return err
	}
	jobs, onboarded, _, err := h.chatMedia(c, t.PhoneNumberID, list.Messages)
	if err != nil {
		return err
	}
	edits, err := h.editHistories(c, t.PhoneNumberID, list.Messages)
	if err != nil {
		return err
	}
	now := h.deps.Now().UTC()
	out := make([]messageJSON, 0, len(list.Messages))
	for _, m := range list.Messages {
		mj := messageJSON{WAMID: m.WAMID, Direction: m.Direction, Type: m.Type, Text: m.Text, Timestamp: m.TS,
			Status: deliveryStatus(m.Direction, m.Status), Origin: m.Origin, Edited: m.Edited, Deleted: m.Deleted,
			ReactionTo: m.ReactionTo, Content: contentJSONOf(m), Media: mediaJSONOf(t.PhoneNumberID, m, jobOf(jobs, m), onboarded, now)}
		for _, r := range reactions[m.WAMID] {
			mj.Reactions = append(mj.Reactions, reactionJSON{WAMID: r.WAMID, Emoji: r.Emoji, Direction: r.Direction, Timestamp: r.TS})
		}
		if e, ok := edits[m.WAMID]; ok {
			mj.OriginalText = e.Original
			for _, ed := range e.Edits {
				mj.Edits = append(mj.Edits, editJSON{WAMID: ed.WAMID, Text: ed.Text, Timestamp: ed.TS})
			}
		}
		out = append(out, mj)
	}
	return c.JSON(http.StatusOK, map[string]any{"data": out, "next_cursor": list.NextCursor})
}

// phoneOf is a thread's contact phone number: "" for a contact known only by its
// business-scoped user id (its thread key is not a phone number).
func phoneOf(contactKey string) string {
	if store.IsUserKey(contactKey) {
		return ""
	}
	return contactKey
}

// deliveryStatus is a message's status in the API: null for inbound messages (history gives
// them one, e.g. "pending" or "read", which says nothing about delivery to the business) and
// for unknown ones.
func deliveryStatus(direction, status string) *string {
	if direction == models.DirectionInbound {
		return nil
	}
	return nullable(status)
}
