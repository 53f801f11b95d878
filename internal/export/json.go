package export

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Document is the JSON export:
//
//	{"format":"coexhistory.thread.v1","exported_at":"…","thread":{…},"messages":[{…},…]}
//
// ReadJSON reads it back.
type Document struct {
	Format     string     `json:"format"`
	ExportedAt *time.Time `json:"exported_at,omitempty"`
	Thread     Thread     `json:"thread"`
	Messages   []Message  `json:"messages"`
}

// jsonWriter streams a Document: the header first, then one message at a time.
type jsonWriter struct {
	w      *bufio.Writer
	thread Thread
	count  int
}

// NewJSON writes the header of a JSON Document to w and returns the writer of its messages.
func NewJSON(w io.Writer, t Thread, opts Options) (Writer, error) {
	jw := &jsonWriter{w: bufio.NewWriterSize(w, 32<<10), thread: t}
	head := struct {
		Format     string     `json:"format"`
		ExportedAt *time.Time `json:"exported_at,omitempty"`
		Thread     Thread     `json:"thread"`
	}{Format: DocumentFormat, Thread: t}
	if !opts.ExportedAt.IsZero() {
		at := opts.ExportedAt.UTC().Truncate(time.Second)
		head.ExportedAt = &at
	}
	b, err := json.Marshal(head)
	if err != nil {
		return nil, fmt.Errorf("export json: header: %w", err)
	}
	// The header object without its closing brace, then the messages array.
	if _, err := jw.w.Write(b[:len(b)-1]); err != nil {
		return nil, fmt.Errorf("export json: %w", err)
	}
	if _, err := jw.w.WriteString(`,"messages":[`); err != nil {
		return nil, fmt.Errorf("export json: %w", err)
	}
	return jw, nil
}

func (jw *jsonWriter) Write(m Message) error {
	m.Sender = jw.thread.Sender(m.Direction)
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("export json: message %s: %w", m.WAMID, err)
	}
	sep := "\n"
	if jw.count > 0 {
		sep = ",\n"
	}
	jw.count++
	if _, err := jw.w.WriteString(sep); err != nil {
		return fmt.Errorf("export json: %w", err)
	}
	if _, err := jw.w.Write(b); err != nil {
		return fmt.Errorf("export json: %w", err)
	}
	return nil
}

func (jw *jsonWriter) Flush() error {
	if err := jw.w.Flush(); err != nil {
		return fmt.Errorf("export json: %w", err)
	}
	return nil
}

func (jw *jsonWriter) Close() error {
	if _, err := jw.w.WriteString("\n]}\n"); err != nil {
		return fmt.Errorf("export json: %w", err)
	}
	if err := jw.w.Flush(); err != nil {
		return fmt.Errorf("export json: %w", err)
	}
	return nil
}

// ReadJSON reads a JSON export back.
func ReadJSON(r io.Reader) (Document, error) {
	var d Document
	dec := json.NewDecoder(r)
	if err := dec.Decode(&d); err != nil {
		return d, fmt.Errorf("read json export: %w", err)
	}
	if d.Format != DocumentFormat {
		return d, fmt.Errorf("read json export: format %q, want %q", d.Format, DocumentFormat)
	}
	if d.Messages == nil {
		d.Messages = []Message{}
	}
	return d, nil
}
