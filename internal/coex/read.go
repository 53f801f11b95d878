package coex

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
	"unsafe"

	json "github.com/go-json-experiment/json"
)

// readMessage decodes the message object that comes next into w (reset
// first), reading its common members by hand and its content objects with
// json v2: the hot path of a history chunk. The whole value is always
// consumed. bad is the first member that did not fit (the message is then
// quarantined); err means the JSON text is broken.
func (s *stream) readMessage(w *wireMessage) (raw []byte, bad, err error) {
	*w = wireMessage{}
	start := s.offset()
	switch s.kind() {
	case '{':
	case 0:
		return nil, nil, s.fail()
	default:
		if err := s.dec.SkipValue(); err != nil {
			return nil, nil, err
		}
		return s.since(start), errors.New("not an object"), nil
	}
	if _, err := s.dec.ReadToken(); err != nil {
		return nil, nil, err
	}
	depth := s.dec.StackDepth()
	for {
		switch s.kind() {
		case '}':
			if _, err := s.dec.ReadToken(); err != nil {
				return nil, nil, err
			}
			return s.since(start), bad, nil
		case 0:
			return nil, nil, s.fail()
		}
		nameRaw, err := s.dec.ReadValue()
		if err != nil {
			return nil, nil, err
		}
		name := nameRaw[1 : len(nameRaw)-1]
		if bytes.IndexByte(name, '\\') >= 0 {
			name = []byte(memberName(nameRaw))
		}
		var e error
		switch string(name) {
		case "id":
			w.ID, e = s.str()
		case "from":
			w.From, e = s.strCached(&s.lastFrom)
		case "from_user_id":
			w.FromUserID, e = s.strCached(&s.lastFromUserID)
		case "to":
			w.To, e = s.strCached(&s.lastTo)
		case "to_user_id":
			w.ToUserID, e = s.strCached(&s.lastToUserID)
		case "type":
			w.Type, e = s.typeName()
		case "timestamp":
			e = w.Timestamp.UnmarshalJSONFrom(s.dec)
		case "history_context":
			e = s.historyContext(&w.HistoryContext)
		case "text":
			e = s.textObject(&w.Text)
		default:
			target := w.contentField(name)
			if target == nil {
				e = s.dec.SkipValue()
				break
			}
			e = json.UnmarshalDecode(s.dec, target)
		}
		if e != nil {
			if fatal(e) {
				return nil, nil, e
			}
			if bad == nil {
				bad = fmt.Errorf("%s: %s", name, errText(e))
			}
			for s.dec.StackDepth() > depth {
				if _, err := s.dec.ReadToken(); err != nil {
					return nil, nil, err
				}
			}
		}
	}
}

// contentField returns where a member other than the common ones decodes to,
// or nil for a member that is not read.
func (w *wireMessage) contentField(name []byte) any {
	switch string(name) {
	case "errors":
		return &w.Errors
	case "context":
		return &w.Context
	case "referral":
		return &w.Referral
	case "image":
		return &w.Image
	case "video":
		return &w.Video
	case "document":
		return &w.Document
	case "audio":
		return &w.Audio
	case "sticker":
		return &w.Sticker
	case "location":
		return &w.Location
	case "reaction":
		return &w.Reaction
	case "button":
		return &w.Button
	case "interactive":
		return &w.Interactive
	case "contacts":
		return &w.Contacts
	case "order":
		return &w.Order
	case "system":
		return &w.System
	case "unsupported":
		return &w.Unsupported
	case "revoke":
		return &w.Revoke
	case "edit":
		return &w.Edit
	}
	return nil
}

// errNotString is the problem of a member that must be a string.
var errNotString = errors.New("want a string")

// str reads a JSON string (null is ""), as valid UTF-8.
func (s *stream) str() (string, error) {
	v, err := s.dec.ReadValue()
	if err != nil {
		return "", err
	}
	return s.unquote(v)
}

func (s *stream) unquote(v []byte) (string, error) {
	switch {
	case len(v) > 0 && v[0] == '"':
	case string(v) == "null":
		return "", nil
	default:
		return "", fmt.Errorf("%w, got %s", errNotString, clip(v))
	}
	inner := v[1 : len(v)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		if s.validUTF8 || utf8.Valid(inner) {
			return s.strings.make(inner), nil
		}
		return strings.ToValidUTF8(string(inner), "\uFFFD"), nil
	}
	out, _ := appendUnquote(v) // invalid UTF-8 is replaced, the error only tells so
	return string(out), nil
}

// strCached is str for values that repeat from message to message (the
// sender of a thread): the previous value is reused when the bytes match.
func (s *stream) strCached(last *string) (string, error) {
	v, err := s.dec.ReadValue()
	if err != nil {
		return "", err
	}
	if len(v) >= 2 && v[0] == '"' && len(*last) == len(v)-2 && string(v[1:len(v)-1]) == *last {
		return *last, nil
	}
	str, err := s.unquote(v)
	if err == nil && bytes.IndexByte(v, '\\') < 0 {
		*last = str
	}
	return str, err
}

// typeName reads a message type, sharing the common ones.
func (s *stream) typeName() (string, error) {
	v, err := s.dec.ReadValue()
	if err != nil {
		return "", err
	}
	if len(v) >= 2 && v[0] == '"' {
		if t := knownType(v[1 : len(v)-1]); t != "" {
			return t, nil
		}
	}
	return s.unquote(v)
}

func knownType(b []byte) string {
	switch string(b) {
	case "text":
		return "text"
	case TypeMediaPlaceholder:
		return TypeMediaPlaceholder
	case "image":
		return "image"
	case "reaction":
		return "reaction"
	case "audio":
		return "audio"
	case "video":
		return "video"
	case "document":
		return "document"
	case "sticker":
		return "sticker"
	case "location":
		return "location"
	case "contacts":
		return "contacts"
	}
	return ""
}

// historyContext reads history_context {status, from_me}.
func (s *stream) historyContext(hc *wireHistoryContext) error {
	return s.smallObject(func(name []byte) error {
		switch string(name) {
		case "status":
			v, err := s.dec.ReadValue()
			if err != nil {
				return err
			}
			if len(v) >= 2 && v[0] == '"' {
				if st := statusOf(v[1 : len(v)-1]); st != "" {
					hc.Status = st
					return nil
				}
			}
			hc.Status, err = s.unquote(v)
			return err
		case "from_me":
			return hc.FromMe.UnmarshalJSONFrom(s.dec)
		}
		return s.dec.SkipValue()
	})
}

// statusOf returns the normalised status for the spellings Meta sends, "" for others.
func statusOf(b []byte) string {
	switch string(b) {
	case "READ", "read":
		return StatusRead
	case "DELIVERED", "delivered":
		return StatusDelivered
	case "SENT", "sent":
		return StatusSent
	case "PLAYED", "played":
		return StatusPlayed
	case "PENDING", "pending":
		return StatusPending
	case "ERROR", "error", "FAILED", "failed":
		return StatusError
	}
	return ""
}

// stringArena makes the short strings of a body (ids, texts) from shared
// blocks: one allocation per block instead of one per string. A block is
// only appended to, so the bytes under a string never change; the strings of
// a block keep it alive, which is what a chunk's messages do together anyway.
type stringArena struct {
	block []byte
}

const (
	arenaBlock     = 64 << 10
	arenaMaxString = 2 << 10
)

func (a *stringArena) make(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > arenaMaxString {
		return string(b)
	}
	if cap(a.block)-len(a.block) < len(b) {
		a.block = make([]byte, 0, arenaBlock)
	}
	start := len(a.block)
	a.block = append(a.block, b...)
	return unsafe.String(&a.block[start], len(b))
}

// textObject reads text {body}.
func (s *stream) textObject(t *wireText) error {
	return s.smallObject(func(name []byte) error {
		if string(name) == "body" {
			var err error
			t.Body, err = s.str()
			return err
		}
		return s.dec.SkipValue()
	})
}

// smallObject walks an object member by member (null is empty); fn reads
// each value. A value that is not an object is a problem (after it is skipped).
func (s *stream) smallObject(fn func(name []byte) error) error {
	switch s.kind() {
	case '{':
	case 'n':
		_, err := s.dec.ReadValue()
		return err
	case 0:
		return s.fail()
	default:
		v, err := s.dec.ReadValue()
		if err != nil {
			return err
		}
		return fmt.Errorf("want an object, got %s", clip(v))
	}
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
		nameRaw, err := s.dec.ReadValue()
		if err != nil {
			return err
		}
		name := nameRaw[1 : len(nameRaw)-1]
		if bytes.IndexByte(name, '\\') >= 0 {
			name = []byte(memberName(nameRaw))
		}
		if err := fn(name); err != nil {
			if fatal(err) {
				return err
			}
			return fmt.Errorf("%s: %s", name, errText(err))
		}
	}
}
