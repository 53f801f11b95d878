package export

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// CSVColumns are the columns of the CSV export, in order.
var CSVColumns = []string{"wamid", "timestamp", "time_utc", "direction", "sender", "type", "text", "status",
	"origin", "edited", "deleted", "media_id", "mime_type", "latitude", "longitude", "location_name",
	"location_address", "reactions", "reaction_to", "original_text"}

// numericColumn marks the columns we format ourselves as numbers (a minus sign there is a
// number, not a formula).
var numericColumn = map[int]bool{1: true, 13: true, 14: true}

// utf8BOM starts the CSV export so that spreadsheet programs read it as UTF-8 (accents,
// emoji); ReadCSV skips it.
const utf8BOM = "\ufeff"

// csvWriter writes one row per message.
type csvWriter struct {
	buf    *bufio.Writer
	w      *csv.Writer
	thread Thread
}

// NewCSV writes the byte-order mark and the header row to w and returns the writer of the
// rows. Cells that a spreadsheet would run as a formula (starting with = + - @, a tab or a
// carriage return) get a leading apostrophe, as does a cell that already starts with one, so
// ReadCSV can take it off again.
func NewCSV(w io.Writer, t Thread) (Writer, error) {
	buf := bufio.NewWriterSize(w, 32<<10)
	if _, err := buf.WriteString(utf8BOM); err != nil {
		return nil, fmt.Errorf("export csv: %w", err)
	}
	cw := &csvWriter{buf: buf, w: csv.NewWriter(buf), thread: t}
	if err := cw.w.Write(CSVColumns); err != nil {
		return nil, fmt.Errorf("export csv: header: %w", err)
	}
	return cw, nil
}

func (cw *csvWriter) Write(m Message) error {
	var lat, lng, locName, locAddress string
	if m.Location != nil {
		lat = strconv.FormatFloat(m.Location.Latitude, 'f', -1, 64)
		lng = strconv.FormatFloat(m.Location.Longitude, 'f', -1, 64)
		locName, locAddress = m.Location.Name, m.Location.Address
	}
	row := []string{
		m.WAMID,
		strconv.FormatInt(m.Timestamp, 10),
		time.Unix(m.Timestamp, 0).UTC().Format(time.RFC3339),
		m.Direction,
		cw.thread.Sender(m.Direction),
		m.Type,
		m.Text,
		m.Status,
		m.Origin,
		strconv.FormatBool(m.Edited),
		strconv.FormatBool(m.Deleted),
		m.MediaID,
		m.MimeType,
		lat, lng, locName, locAddress,
		formatReactions(m.Reactions),
		m.ReactionTo,
		m.OriginalText,
	}
	for i := range row {
		if !numericColumn[i] {
			row[i] = defuseCell(row[i])
		}
	}
	if err := cw.w.Write(row); err != nil {
		return fmt.Errorf("export csv: message %s: %w", m.WAMID, err)
	}
	return nil
}

func (cw *csvWriter) Flush() error {
	cw.w.Flush()
	if err := cw.w.Error(); err != nil {
		return fmt.Errorf("export csv: %w", err)
	}
	if err := cw.buf.Flush(); err != nil {
		return fmt.Errorf("export csv: %w", err)
	}
	return nil
}

func (cw *csvWriter) Close() error { return cw.Flush() }

// defuseCell keeps a spreadsheet from running a cell as a formula.
func defuseCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r', '\'':
		return "'" + s
	}
	return s
}

// restoreCell undoes defuseCell.
func restoreCell(s string) string {
	if len(s) >= 2 && s[0] == '\'' {
		switch s[1] {
		case '=', '+', '-', '@', '\t', '\r', '\'':
			return s[1:]
		}
	}
	return s
}

// formatReactions writes reactions as "inbound:❤️; outbound:👍".
func formatReactions(rs []Reaction) string {
	parts := make([]string, 0, len(rs))
	for _, r := range rs {
		parts = append(parts, r.Direction+":"+r.Emoji)
	}
	return strings.Join(parts, "; ")
}

func parseReactions(s string) []Reaction {
	if s == "" {
		return nil
	}
	var out []Reaction
	for _, part := range strings.Split(s, "; ") {
		dir, emoji, _ := strings.Cut(part, ":")
		out = append(out, Reaction{Direction: dir, Emoji: emoji})
	}
	return out
}

// ReadCSV reads a CSV export back into messages (Sender included).
func ReadCSV(r io.Reader) ([]Message, error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(len(utf8BOM)); err == nil && string(b) == utf8BOM {
		_, _ = br.Discard(len(utf8BOM))
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = len(CSVColumns)
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read csv export: header: %w", err)
	}
	if strings.Join(head, ",") != strings.Join(CSVColumns, ",") {
		return nil, fmt.Errorf("read csv export: unexpected columns %v", head)
	}
	out := []Message{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read csv export: %w", err)
		}
		for i := range rec {
			rec[i] = restoreCell(rec[i])
		}
		m, err := csvMessage(rec)
		if err != nil {
			return nil, fmt.Errorf("read csv export: row %d: %w", len(out)+2, err)
		}
		out = append(out, m)
	}
}

func csvMessage(rec []string) (Message, error) {
	ts, err := strconv.ParseInt(rec[1], 10, 64)
	if err != nil {
		return Message{}, fmt.Errorf("timestamp: %w", err)
	}
	edited, err := strconv.ParseBool(rec[9])
	if err != nil {
		return Message{}, fmt.Errorf("edited: %w", err)
	}
	deleted, err := strconv.ParseBool(rec[10])
	if err != nil {
		return Message{}, fmt.Errorf("deleted: %w", err)
	}
	m := Message{
		WAMID: rec[0], Timestamp: ts, Direction: rec[3], Sender: rec[4], Type: rec[5], Text: rec[6],
		Status: rec[7], Origin: rec[8], Edited: edited, Deleted: deleted, MediaID: rec[11], MimeType: rec[12],
		Reactions: parseReactions(rec[17]), ReactionTo: rec[18], OriginalText: rec[19],
	}
	if rec[13] != "" || rec[14] != "" {
		lat, err := strconv.ParseFloat(rec[13], 64)
		if err != nil {
			return Message{}, fmt.Errorf("latitude: %w", err)
		}
		lng, err := strconv.ParseFloat(rec[14], 64)
		if err != nil {
			return Message{}, fmt.Errorf("longitude: %w", err)
		}
		m.Location = &Location{Latitude: lat, Longitude: lng, Name: rec[15], Address: rec[16]}
	}
	return m, nil
}
