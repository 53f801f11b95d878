package coex

import (
	"bytes"
	"errors"
	"io"
	"unicode/utf8"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// stream walks JSON text with a jsontext.Decoder and hands out the raw bytes
// of the values it reads as slices of src.
type stream struct {
	dec       *jsontext.Decoder
	src       []byte
	validUTF8 bool // src is valid UTF-8: strings need no cleaning
	strings   stringArena

	// the last sender and recipient read, reused while they repeat
	lastFrom, lastFromUserID, lastTo, lastToUserID string
}

func newStream(src []byte) *stream {
	return &stream{dec: jsontext.NewDecoder(bytes.NewBuffer(src), decodeOptions), src: src, validUTF8: utf8.Valid(src)}
}

func appendUnquote(v []byte) ([]byte, error) { return jsontext.AppendUnquote(nil, v) }

// value reads the next value and returns its bytes.
func (s *stream) value() ([]byte, error) {
	v, err := s.dec.ReadValue()
	if err != nil {
		return nil, err
	}
	end := int(s.dec.InputOffset())
	return s.src[end-len(v) : end : end], nil
}

// offset is the position just after the last value or token read.
func (s *stream) offset() int { return int(s.dec.InputOffset()) }

// since returns the bytes of the value read between start (an earlier
// offset) and now, without the separators before it.
func (s *stream) since(start int) []byte {
	end := s.offset()
	b := s.src[start:end:end]
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n' || b[0] == ',' || b[0] == ':') {
		b = b[1:]
	}
	return b
}

// kind peeks at the next value's kind; 0 means a syntax error, reported by
// the next read.
func (s *stream) kind() jsontext.Kind { return s.dec.PeekKind() }

// fail returns the syntax error that made kind return 0.
func (s *stream) fail() error {
	_, err := s.dec.ReadToken()
	if err == nil {
		err = errors.New("unexpected token")
	}
	return err
}

// object walks the members of the object that comes next; fn must read
// exactly one value per member.
func (s *stream) object(fn func(name string) error) error {
	if _, err := s.dec.ReadToken(); err != nil {
		return err
	}
	for {
		switch s.kind() {
		case '}':
			_, err := s.dec.ReadToken()
			return err
		case 0:
			return s.fail()
		}
		raw, err := s.dec.ReadValue()
		if err != nil {
			return err
		}
		if err := fn(memberName(raw)); err != nil {
			return err
		}
	}
}

// memberName returns a member name without allocating for plain names.
func memberName(raw []byte) string {
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return internName(inner)
	}
	name, err := jsontext.AppendUnquote(nil, raw)
	if err != nil {
		return string(inner)
	}
	return string(name)
}

// internName maps the names the parser dispatches on to constants (the
// conversion in a switch does not allocate); other names become "".
func internName(b []byte) string {
	switch string(b) {
	case "object":
		return "object"
	case "entry":
		return "entry"
	case "id":
		return "id"
	case "changes":
		return "changes"
	case "field":
		return "field"
	case "value":
		return "value"
	case "metadata":
		return "metadata"
	case "history":
		return "history"
	case "messages":
		return "messages"
	case "message_echoes":
		return "message_echoes"
	case "contacts":
		return "contacts"
	case "threads":
		return "threads"
	case "errors":
		return "errors"
	case "context":
		return "context"
	case "state_sync":
		return "state_sync"
	case "statuses":
		return "statuses"
	}
	return ""
}

// array walks the elements of the array that comes next; fn must read
// exactly one value per element.
func (s *stream) array(fn func(i int) error) error {
	if _, err := s.dec.ReadToken(); err != nil {
		return err
	}
	for i := 0; ; i++ {
		switch s.kind() {
		case ']':
			_, err := s.dec.ReadToken()
			return err
		case 0:
			return s.fail()
		}
		if err := fn(i); err != nil {
			return err
		}
	}
}

// items walks an array member: null is empty; any other non-array value is
// reported through bad (after it is skipped).
func (s *stream) items(bad func(raw []byte), fn func(i int) error) error {
	switch s.kind() {
	case '[':
		return s.array(fn)
	case 'n':
		_, err := s.value()
		return err
	case 0:
		return s.fail()
	}
	raw, err := s.value()
	if err != nil {
		return err
	}
	bad(raw)
	return nil
}

// decode reads raw into v (json v2, typed).
func decode(raw []byte, v any) error {
	return json.Unmarshal(raw, v, decodeOptions)
}

// decodeNext decodes the next value into v straight from the stream (one
// pass, typed) and returns its bytes. A value that does not fit v is skipped
// and its problem returned as bad; err is set only when the JSON itself is
// broken, which ends the parse.
func (s *stream) decodeNext(v any) (raw []byte, bad, err error) {
	start, base := s.offset(), s.dec.StackDepth()
	if bad = json.UnmarshalDecode(s.dec, v); bad != nil {
		if fatal(bad) {
			return nil, nil, bad
		}
		if err := s.resync(start, base); err != nil {
			return nil, nil, err
		}
	}
	return s.since(start), bad, nil
}

// resync skips what is left of a value whose decoding stopped part way.
func (s *stream) resync(start, base int) error {
	if s.offset() == start {
		return s.dec.SkipValue()
	}
	for s.dec.StackDepth() > base {
		if _, err := s.dec.ReadToken(); err != nil {
			return err
		}
	}
	return nil
}

// fatal reports whether a decoding error means the JSON text is broken.
func fatal(err error) bool {
	var syn *jsontext.SyntacticError
	return errors.As(err, &syn) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}
