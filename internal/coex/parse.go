package coex

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Errors returned by Parse. Compare with errors.Is.
var (
	// ErrNotEnvelope means the body is not a WhatsApp Business webhook at all
	// (not JSON, not an object, no object "whatsapp_business_account", no entry array).
	ErrNotEnvelope = errors.New("not a WhatsApp Business webhook envelope")
	// ErrMalformed means the envelope is valid but an entry or change is not
	// an object (or its id or field is not a string); the message names them.
	// Problems inside a change's value are item errors (Change.ItemErrors).
	ErrMalformed = errors.New("malformed webhook change")
)

// decodeOptions: Meta's payloads are read as sent. Invalid UTF-8 inside a
// string is replaced by U+FFFD instead of failing the body, and a repeated
// member keeps the last value (as encoding/json does).
var decodeOptions = json.JoinOptions(jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))

// Parse decodes one webhook delivery in one pass over the body. It fails only
// when body is not a whatsapp_business_account envelope with an entry array
// (ErrNotEnvelope, also for any JSON syntax error) or when an entry or change
// is not an object (ErrMalformed). Every item inside a change that cannot be
// read (a message with no id or an overflowing timestamp, a thread with no
// contact, …) is reported in that change's ItemErrors, and every other item
// is returned. Unknown fields and message types are never rejected.
//
// Texts are valid UTF-8 (invalid bytes replaced). Raw values are byte-exact
// slices of body, except that a raw value holding invalid UTF-8 is a copy
// with those bytes replaced.
func Parse(body []byte) (*Batch, error) {
	s := newStream(body)
	p := &parser{validUTF8: s.validUTF8}
	batch, err := p.envelope(s)
	if err != nil {
		return nil, err
	}
	return batch, nil
}

type parser struct {
	validUTF8 bool  // the whole body is valid UTF-8: no raw value needs cleaning
	malformed error // first structural problem of an entry or change
}

// scratchPool holds the slices a chunk's messages are collected in before
// they are copied, once and at their exact size, into the chunk: a chunk has
// thousands of messages, and growing the chunk's own slice would copy them
// again and again.
var scratchPool = sync.Pool{New: func() any { return new([]Message) }}

func (p *parser) malformedf(format string, args ...any) {
	if p.malformed == nil {
		p.malformed = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
}

// clean returns raw as valid UTF-8.
func (p *parser) clean(raw []byte) []byte {
	if p.validUTF8 || utf8.Valid(raw) {
		return raw
	}
	return []byte(strings.ToValidUTF8(string(raw), "\uFFFD"))
}

// ---- envelope, entries, changes ----

func (p *parser) envelope(s *stream) (*Batch, error) {
	switch s.kind() {
	case '{':
	case 0:
		return nil, fmt.Errorf("%w: %w", ErrNotEnvelope, s.fail())
	default:
		return nil, fmt.Errorf("%w: not an object", ErrNotEnvelope)
	}
	var (
		object    string
		hasObject bool
		entry     = "absent"
	)
	batch := &Batch{}
	err := s.object(func(name string) error {
		switch name {
		case "object":
			raw, err := s.value()
			if err != nil {
				return err
			}
			hasObject = decode(raw, &object) == nil
			if !hasObject {
				object = string(raw)
				hasObject = true
			}
		case "entry":
			switch s.kind() {
			case '[':
				entry = "array"
				return s.array(func(i int) error { return p.entry(s, i, batch) })
			case 0:
				return s.fail()
			default:
				entry = "not an array"
				return s.dec.SkipValue()
			}
		default:
			return s.dec.SkipValue()
		}
		return nil
	})
	if err == nil {
		if _, err = s.dec.ReadToken(); err == io.EOF {
			err = nil
		} else if err == nil {
			err = errors.New("data after the envelope")
		}
	}
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrNotEnvelope, err)
	case !hasObject:
		return nil, fmt.Errorf("%w: no object", ErrNotEnvelope)
	case object != ObjectWhatsAppBusinessAccount:
		return nil, fmt.Errorf("%w: object %q", ErrNotEnvelope, clip([]byte(object)))
	case entry != "array":
		return nil, fmt.Errorf("%w: entry is %s", ErrNotEnvelope, entry)
	case p.malformed != nil:
		return nil, p.malformed
	}
	return batch, nil
}

func (p *parser) entry(s *stream, i int, batch *Batch) error {
	if s.kind() != '{' {
		if s.kind() == 0 {
			return s.fail()
		}
		p.malformedf("entry %d: not an object", i)
		return s.dec.SkipValue()
	}
	first := len(batch.Changes)
	var wabaID string
	err := s.object(func(name string) error {
		switch name {
		case "id":
			raw, err := s.value()
			if err != nil {
				return err
			}
			if decode(raw, &wabaID) != nil {
				p.malformedf("entry %d: id is not a string: %s", i, clip(raw))
			}
		case "changes":
			return s.items(func(raw []byte) { p.malformedf("entry %d: changes is not an array", i) },
				func(j int) error { return p.change(s, i, j, batch) })
		default:
			return s.dec.SkipValue()
		}
		return nil
	})
	for k := first; k < len(batch.Changes); k++ {
		batch.Changes[k].WABAID = wabaID
	}
	return err
}

func (p *parser) change(s *stream, i, j int, batch *Batch) error {
	if s.kind() != '{' {
		if s.kind() == 0 {
			return s.fail()
		}
		p.malformedf("entry %d change %d: not an object", i, j)
		return s.dec.SkipValue()
	}
	var (
		c        Change
		hasField bool
		deferred []byte // the value, when it came before the field
	)
	err := s.object(func(name string) error {
		switch name {
		case "field":
			raw, err := s.value()
			if err != nil {
				return err
			}
			if decode(raw, &c.Field) != nil {
				p.malformedf("entry %d change %d: field is not a string: %s", i, j, clip(raw))
			}
			hasField = true
		case "value":
			if !hasField {
				raw, err := s.value()
				deferred = raw
				return err
			}
			return p.value(s, &c)
		default:
			return s.dec.SkipValue()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if deferred != nil {
		if err := p.value(newStream(deferred), &c); err != nil {
			return err
		}
	}
	batch.Changes = append(batch.Changes, c)
	return nil
}

// value reads a change's value according to its field.
func (p *parser) value(s *stream, c *Change) error {
	start := s.offset()
	switch s.kind() {
	case 'n':
		_, err := s.value()
		return err
	case 0:
		return s.fail()
	case '{':
	default:
		raw, err := s.value()
		if err != nil {
			return err
		}
		c.Raw = p.clean(raw)
		switch c.Field {
		case FieldHistory, FieldSMBAppStateSync, FieldSMBMessageEchoes, FieldMessages, FieldAccountUpdate:
			c.addError(ItemError{Kind: ItemValue, Path: "value", Err: "value is not an object", Raw: c.Raw})
		}
		return nil
	}
	var err error
	switch c.Field {
	case FieldHistory, FieldSMBMessageEchoes, FieldMessages, FieldSMBAppStateSync:
		v := &valueState{p: p, s: s, c: c}
		err = v.read()
	default:
		var raw []byte
		if raw, err = s.value(); err == nil {
			p.readWhole(c, raw)
		}
	}
	if err != nil {
		return err
	}
	c.Raw = p.clean(s.since(start))
	return nil
}

func (c *Change) addError(e ItemError) { c.ItemErrors = append(c.ItemErrors, e) }

type wireMetadata struct {
	DisplayPhoneNumber string `json:"display_phone_number"`
	PhoneNumberID      string `json:"phone_number_id"`
}

// readWhole reads the value of an account_update or unknown field, decoded at once.
func (p *parser) readWhole(c *Change, raw []byte) {
	if c.Field != FieldAccountUpdate {
		// Unknown field: keep the ids when they are where we expect them.
		var v struct {
			Metadata wireMetadata `json:"metadata"`
		}
		if decode(raw, &v) == nil {
			c.DisplayPhoneNumber, c.PhoneNumberID = v.Metadata.DisplayPhoneNumber, v.Metadata.PhoneNumberID
		}
		return
	}
	var v struct {
		Event             string `json:"event"`
		PhoneNumber       string `json:"phone_number"`
		DisconnectionInfo struct {
			Reason      string `json:"reason"`
			InitiatedBy string `json:"initiated_by"`
		} `json:"disconnection_info"`
		WABAInfo struct {
			WABAID string `json:"waba_id"`
		} `json:"waba_info"`
		BanInfo       map[string]any `json:"ban_info"`
		ViolationInfo map[string]any `json:"violation_info"`
		Metadata      wireMetadata   `json:"metadata"`
	}
	if err := decode(raw, &v); err != nil {
		c.addError(ItemError{Kind: ItemValue, Path: "value", Err: errText(err), Raw: p.clean(raw)})
		return
	}
	c.DisplayPhoneNumber, c.PhoneNumberID = v.Metadata.DisplayPhoneNumber, v.Metadata.PhoneNumberID
	c.Account = &AccountEvent{
		Event: v.Event, Reason: v.DisconnectionInfo.Reason, InitiatedBy: v.DisconnectionInfo.InitiatedBy,
		WABAID: v.WABAInfo.WABAID, PhoneNumber: Digits(v.PhoneNumber),
		Detail: strings.TrimSpace(accountDetail(v.BanInfo) + " " + accountDetail(v.ViolationInfo)),
	}
}

// accountDetail renders an account_update info object as sorted "key=value" pairs.
func accountDetail(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		switch x := m[k].(type) {
		case string:
			parts = append(parts, k+"="+x)
		case nil:
		default:
			b, _ := json.Marshal(x)
			parts = append(parts, k+"="+string(b))
		}
	}
	return strings.Join(parts, " ")
}

// errText says what is wrong in a few words: "timestamp: not an integer",
// "text.body: want a string, got object".
func errText(err error) string {
	var se *json.SemanticError
	if errors.As(err, &se) {
		where := strings.ReplaceAll(strings.TrimPrefix(string(se.JSONPointer), "/"), "/", ".")
		why := ""
		switch {
		case se.Err != nil:
			why = errText(se.Err)
		case se.GoType != nil:
			why = "want " + jsonKindOf(se.GoType) + ", got " + se.JSONKind.String()
		default:
			why = strings.TrimPrefix(se.Error(), "json: ")
		}
		if where == "" {
			return why
		}
		return where + ": " + why
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// jsonKindOf names the JSON kind a Go type decodes from.
func jsonKindOf(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8,
		reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a number"
	}
	return t.String()
}
