package handlers

import (
	"context"
	"fmt"
	"time"

	"github.com/labstack/echo/v4"

	"coexhistory/internal/coex"
	"coexhistory/internal/store"
	"coexhistory/internal/viewer"
	"coexhistory/views/pages"
)

// editHistory is every version of an edited message, oldest first: the original, from the
// message as first received ("" when that never arrived), then the text of each edit.
type editHistory struct {
	Original string
	Edits    []store.Edit
}

// editHistories returns the histories of the edited messages of a page, by wamid.
func (h *Handlers) editHistories(c echo.Context, pnid string, msgs []store.ThreadMessage) (map[string]editHistory, error) {
	var wamids []string
	for _, m := range msgs {
		if m.Edited {
			wamids = append(wamids, m.WAMID)
		}
	}
	if len(wamids) == 0 {
		return nil, nil
	}
	edits, err := h.deps.Threads.EditsOf(ctx(c), pnid, wamids)
	if err != nil {
		return nil, fmt.Errorf("read edits: %w", err)
	}
	out := make(map[string]editHistory, len(wamids))
	for _, m := range msgs {
		if !m.Edited {
			continue
		}
		// An edit stored before edits kept their text (migration 00011) has none: unknown.
		var known []store.Edit
		for _, e := range edits[m.WAMID] {
			if e.Text != "" {
				known = append(known, e)
			}
		}
		h := editHistory{Original: originalText(m), Edits: known}
		if len(known) > 0 && h.Original == known[len(known)-1].Text {
			// The message as received already carried the edit (a later copy, such as a
			// history chunk, replaced the first one): the original is not known.
			h.Original = ""
		}
		out[m.WAMID] = h
	}
	return out, nil
}

// originalText is the text of a message as first received: its raw JSON keeps the
// original content when an edit changes the text. "" when the original never arrived (the
// message is known from its edit only) or had no text.
func originalText(m store.ThreadMessage) string {
	if m.Raw == "" || m.Raw == "{}" {
		return ""
	}
	msg, err := coex.DecodeMessage([]byte(m.Raw))
	if err != nil || msg.Type != m.Type {
		return ""
	}
	return msg.Text
}

// chatVersions are the versions the thread shows of an edited message, oldest first, in
// the reader's zone: the original (when the archive has it) and each edit, the last one
// marked as the text the bubble shows. nil when no edit is known (an edit stored before
// its text was kept).
func chatVersions(c context.Context, m store.ThreadMessage, e editHistory) []pages.ChatVersion {
	if len(e.Edits) == 0 {
		return nil
	}
	v := viewer.From(c)
	out := make([]pages.ChatVersion, 0, len(e.Edits)+1)
	if e.Original != "" {
		out = append(out, pages.ChatVersion{Text: e.Original, Time: v.In(time.Unix(m.TS, 0).UTC()), Original: true})
	}
	for _, ed := range e.Edits {
		out = append(out, pages.ChatVersion{Text: ed.Text, Time: v.In(time.Unix(ed.TS, 0).UTC())})
	}
	out[len(out)-1].Current = out[len(out)-1].Text == m.Text
	return out
}
