package handlers

import (
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"coexhistory/internal/apperr"
	"coexhistory/internal/export"
	"coexhistory/internal/store"
	"coexhistory/models"
)

// exportThread is GET /threads/:id/export.{json,csv,txt} (admins only: an export takes
// customer data out of coexhistory). The whole thread is written as a download, read and
// streamed page by page so that a huge thread never sits in memory, and every export is
// recorded in the audit log before its first byte. ?tz=America/Sao_Paulo sets the time zone
// of the text export (default UTC).
func (h *Handlers) exportThread(format string) echo.HandlerFunc {
	return func(c echo.Context) error {
		t, err := h.getThread(c)
		if err != nil {
			return err
		}
		loc := time.UTC
		if tz := strings.TrimSpace(c.QueryParam("tz")); tz != "" {
			if loc, err = time.LoadLocation(tz); err != nil {
				return apperr.Wrap(apperr.Invalid, "Unknown time zone: use a name such as America/Sao_Paulo.", err)
			}
		}
		idx, _, err := h.numberIndex(c)
		if err != nil {
			return err
		}
		et := export.Thread{
			ID: t.ID, PhoneNumberID: t.PhoneNumberID, BusinessName: numberLabel(idx, t.PhoneNumberID),
			ContactWAID: t.ContactWAID, ContactName: t.ContactName, MessageCount: t.MessageCount,
			FirstMessageAt: t.FirstMessageAt, LastMessageAt: t.LastMessageAt,
		}
		p, _ := principal(c)
		err = h.deps.Admin.Audit(ctx(c), models.AuditEntry{
			Actor: p.Name, Action: "thread.export", Target: fmt.Sprintf("thread %d", t.ID), RemoteIP: c.RealIP(),
			Detail: fmt.Sprintf("format=%s number=%s contact=%s messages=%d", format, t.PhoneNumberID, t.ContactWAID, t.MessageCount),
		})
		if err != nil {
			return fmt.Errorf("audit thread export: %w", err)
		}

		res := c.Response()
		res.Header().Set(echo.HeaderContentType, export.ContentType(format))
		res.Header().Set(echo.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": export.FileName(et, format)}))
		res.Header().Set("Cache-Control", "no-store")
		res.WriteHeader(http.StatusOK)
		if err := h.streamExport(c, format, t, et, loc); err != nil {
			// The download has started: the status is sent, so the file stays incomplete
			// (a JSON export is then invalid) and the cause goes to the log.
			h.deps.Logger.Error("thread export interrupted", "thread_id", t.ID, "format", format,
				"request_id", res.Header().Get(echo.HeaderXRequestID), "err", err)
		}
		return nil
	}
}

func (h *Handlers) streamExport(c echo.Context, format string, t models.Thread, et export.Thread, loc *time.Location) error {
	res := c.Response()
	w, err := export.New(format, res, et, export.Options{ExportedAt: h.deps.Now(), Location: loc})
	if err != nil {
		return err
	}
	cursor := ""
	for {
		list, err := h.deps.Threads.ThreadMessages(ctx(c), t.ID, store.MessagePage{After: cursor, Limit: store.MaxMessageLimit})
		if err != nil {
			return fmt.Errorf("read thread page: %w", err)
		}
		reactions, err := h.reactions(c, t.PhoneNumberID, list.Messages)
		if err != nil {
			return err
		}
		edits, err := h.editHistories(c, t.PhoneNumberID, list.Messages)
		if err != nil {
			return err
		}
		for _, m := range list.Messages {
			if err := w.Write(exportMessage(m, reactions[m.WAMID], edits[m.WAMID])); err != nil {
				return err
			}
		}
		if err := w.Flush(); err != nil {
			return err
		}
		res.Flush()
		if list.NextCursor == "" || len(list.Messages) == 0 {
			break
		}
		cursor = list.NextCursor
	}
	if err := w.Close(); err != nil {
		return err
	}
	res.Flush()
	return nil
}

func exportMessage(m store.ThreadMessage, reactions []store.Reaction, edits editHistory) export.Message {
	em := export.Message{
		WAMID: m.WAMID, Timestamp: m.TS, Direction: m.Direction, Type: m.Type, Text: m.Text, Status: m.Status,
		Origin: m.Origin, Edited: m.Edited, Deleted: m.Deleted, MediaID: m.MediaID, MimeType: m.MimeType,
		Location: locationOf(m), ReactionTo: m.ReactionTo, OriginalText: edits.Original,
	}
	for _, r := range reactions {
		em.Reactions = append(em.Reactions, export.Reaction{Emoji: r.Emoji, Direction: r.Direction})
	}
	for _, e := range edits.Edits {
		em.Edits = append(em.Edits, export.Edit{WAMID: e.WAMID, Text: e.Text, Timestamp: e.TS})
	}
	return em
}
