package export

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// textWriter writes one line per message, like WhatsApp's own chat export:
//
//	[2026-11-20 14:03] Ana Souza: Oi! Vocês ainda têm o bolo?
//
// Line breaks inside a message are written as \n (and a backslash as \\), so every message
// stays on its own line; UnescapeText reverses this.
type textWriter struct {
	w      *bufio.Writer
	thread Thread
	loc    *time.Location
}

// NewText returns the writer of the WhatsApp-style text export. Times are in opts.Location
// (UTC when nil).
func NewText(w io.Writer, t Thread, opts Options) Writer {
	loc := opts.Location
	if loc == nil {
		loc = time.UTC
	}
	return &textWriter{w: bufio.NewWriterSize(w, 32<<10), thread: t, loc: loc}
}

func (tw *textWriter) Write(m Message) error {
	line := TextLine(tw.thread, m, tw.loc)
	if _, err := tw.w.WriteString(line + "\n"); err != nil {
		return fmt.Errorf("export text: %w", err)
	}
	return nil
}

func (tw *textWriter) Flush() error {
	if err := tw.w.Flush(); err != nil {
		return fmt.Errorf("export text: %w", err)
	}
	return nil
}

func (tw *textWriter) Close() error { return tw.Flush() }

// TextLine is the line of one message (without the newline).
func TextLine(t Thread, m Message, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	at := time.Unix(m.Timestamp, 0).In(loc).Format("2006-01-02 15:04")
	return "[" + at + "] " + EscapeText(t.Sender(m.Direction)) + ": " + EscapeText(TextBody(m))
}

// TextBody is what the text export says for a message: its text, with markers for media,
// locations, edits, deletions and reactions.
func TextBody(m Message) string {
	var parts []string
	switch {
	case m.Location != nil:
		loc := "location: " + strconv.FormatFloat(m.Location.Latitude, 'f', -1, 64) + "," +
			strconv.FormatFloat(m.Location.Longitude, 'f', -1, 64)
		if where := joinNonEmpty(", ", m.Location.Name, m.Location.Address); where != "" {
			loc += " " + where
		}
		parts = append(parts, loc)
	case IsMedia(m.Type):
		kind := m.Type
		if kind == "media_placeholder" {
			kind = "media"
		}
		parts = append(parts, "<"+kind+" omitted>")
		if m.Text != "" {
			parts = append(parts, m.Text)
		}
	case m.Type == "reaction" && m.ReactionTo != "":
		parts = append(parts, "<reacted "+m.Text+" to a message not in the archive: "+m.ReactionTo+">")
	case m.Text != "":
		parts = append(parts, m.Text)
	default:
		parts = append(parts, "<"+m.Type+">")
	}
	if m.Edited && m.OriginalText != "" {
		parts = append(parts, "<edited; first: "+m.OriginalText+">")
	} else if m.Edited {
		parts = append(parts, "<edited>")
	}
	if m.Deleted {
		parts = append(parts, "<deleted>")
	}
	if len(m.Reactions) > 0 {
		emojis := make([]string, 0, len(m.Reactions))
		for _, r := range m.Reactions {
			emojis = append(emojis, r.Emoji)
		}
		parts = append(parts, "[reactions: "+strings.Join(emojis, " ")+"]")
	}
	return strings.Join(parts, " ")
}

// textEscapes are the characters that would break a line, written as escapes.
var textEscapes = strings.NewReplacer(
	`\`, `\\`,
	"\r\n", `\n`,
	"\n", `\n`,
	"\r", `\r`,
	"\v", `\v`,
	"\f", `\f`,
	"\u0085", `\u0085`,
	"\u2028", `\u2028`,
	"\u2029", `\u2029`,
)

// EscapeText keeps s on one line.
func EscapeText(s string) string { return textEscapes.Replace(s) }

var textUnescapes = strings.NewReplacer(
	`\\`, `\`,
	`\n`, "\n",
	`\r`, "\r",
	`\v`, "\v",
	`\f`, "\f",
	`\u0085`, "\u0085",
	`\u2028`, "\u2028",
	`\u2029`, "\u2029",
)

// UnescapeText reverses EscapeText (a "\r\n" comes back as "\n").
func UnescapeText(s string) string { return textUnescapes.Replace(s) }

func joinNonEmpty(sep string, parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, sep)
}
