package coex

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
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
		Metadata wireMetadata `json:"metadata"`
	}
	if err := decode(raw, &v); err != nil {
		c.addError(ItemError{Kind: ItemValue, Path: "value", Err: errText(err), Raw: p.clean(raw)})
		return
	}
	c.DisplayPhoneNumber, c.PhoneNumberID = v.Metadata.DisplayPhoneNumber, v.Metadata.PhoneNumberID
	c.Account = &AccountEvent{
		Event: v.Event, Reason: v.DisconnectionInfo.Reason, InitiatedBy: v.DisconnectionInfo.InitiatedBy,
		WABAID: v.WABAInfo.WABAID, PhoneNumber: Digits(v.PhoneNumber),
	}
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

// ---- the value of history, smb_app_state_sync, smb_message_echoes and messages ----

// valueState reads one change value. Members may come in any order, so what
// depends on another member (directions on the business number, names on
// value.contacts) is settled once the whole value is read.
type valueState struct {
	p *parser
	s *stream
	c *Change

	meta     wireMetadata
	contacts []wireValueContact
	w        wireMessage // reused for every message: decoding into it allocates nothing itself
	mediaTo  []identity  // history media follow-ups: the recipient, for outbound ones
}

// identity is a contact's phone number and BSUID.
type identity struct{ waid, userID string }

type wireValueContact struct {
	WAID        string `json:"wa_id"`
	UserID      string `json:"user_id"`
	CountryCode string `json:"country_code"`
	Profile     struct {
		Name        string `json:"name"`
		Username    string `json:"username"`
		CountryCode string `json:"country_code"`
	} `json:"profile"`
}

func (v *valueState) read() error {
	s, c := v.s, v.c
	err := s.object(func(name string) error {
		switch name {
		case "metadata":
			raw, err := s.value()
			if err != nil {
				return err
			}
			if err := decode(raw, &v.meta); err != nil {
				c.addError(ItemError{Kind: ItemValue, Path: "metadata", Err: errText(err), Raw: v.p.clean(raw)})
			}
			c.DisplayPhoneNumber, c.PhoneNumberID = v.meta.DisplayPhoneNumber, v.meta.PhoneNumberID
		case "contacts":
			if c.Field == FieldSMBAppStateSync {
				return s.dec.SkipValue()
			}
			return v.list("contacts", func(k int) error {
				var vc wireValueContact
				raw, bad, err := s.decodeNext(&vc)
				if err != nil {
					return err
				}
				if bad != nil {
					c.addError(ItemError{Kind: ItemValue, Path: "contacts " + strconv.Itoa(k), Err: errText(bad), Raw: v.p.clean(raw)})
					return nil
				}
				v.contacts = append(v.contacts, vc)
				return nil
			})
		case "history":
			if c.Field != FieldHistory {
				return s.dec.SkipValue()
			}
			return s.items(v.notArray("history"), v.historyItem)
		case "messages":
			switch c.Field {
			case FieldHistory:
				return v.list("messages", func(k int) error { return v.mediaUpdate(k, "messages", false) })
			case FieldMessages:
				return v.list("messages", func(k int) error { return v.message(k, "message", OriginLive, DirectionInbound) })
			}
			return s.dec.SkipValue()
		case "message_echoes":
			switch c.Field {
			case FieldHistory:
				return v.list("message_echoes", func(k int) error { return v.mediaUpdate(k, "message_echoes", true) })
			case FieldSMBMessageEchoes:
				return v.list("message_echoes", func(k int) error { return v.message(k, "echo", OriginEcho, DirectionOutbound) })
			}
			return s.dec.SkipValue()
		case "statuses":
			if c.Field != FieldMessages {
				return s.dec.SkipValue()
			}
			return v.list("statuses", v.status)
		case "state_sync":
			if c.Field != FieldSMBAppStateSync {
				return s.dec.SkipValue()
			}
			return v.list("state_sync", v.stateSync)
		default:
			return s.dec.SkipValue()
		}
		return nil
	})
	if err != nil {
		return err
	}
	v.settle()
	return nil
}

func (v *valueState) notArray(name string) func(raw []byte) {
	return func(raw []byte) {
		v.c.addError(ItemError{Kind: ItemValue, Path: name, Err: name + " is not an array", Raw: v.p.clean(raw)})
	}
}

// list reads an array member element by element; fn reads one element.
func (v *valueState) list(name string, fn func(k int) error) error {
	return v.s.items(v.notArray(name), fn)
}

// settle applies what is known only once the whole value is read.
func (v *valueState) settle() {
	c := v.c
	if c.Field == FieldHistory {
		business := Digits(v.meta.DisplayPhoneNumber)
		for k := range c.Chunks {
			msgs := c.Chunks[k].Messages
			for i := range msgs {
				msgs[i].Direction = historyDirection(&msgs[i], business)
			}
		}
		for i := range c.MediaUpdates {
			m := &c.MediaUpdates[i]
			if m.Direction == DirectionOutbound { // a message_echoes follow-up
				continue
			}
			m.Direction = historyDirection(m, business)
			if m.Direction == DirectionOutbound {
				m.ContactWAID, m.ContactUserID = v.mediaTo[i].waid, v.mediaTo[i].userID
			}
		}
	}
	if len(v.contacts) == 0 {
		return
	}
	for i := range c.MediaUpdates {
		v.profile(&c.MediaUpdates[i])
	}
	for i := range c.Messages {
		v.profile(&c.Messages[i])
	}
	for i := range c.Edits {
		e := &c.Edits[i]
		if vc := v.find(e.ContactWAID, e.ContactUserID, false); vc != nil {
			e.ContactWAID, e.ContactUserID = orDigits(e.ContactWAID, vc.WAID), or(e.ContactUserID, vc.UserID)
		}
	}
	for i := range c.Revokes {
		r := &c.Revokes[i]
		if vc := v.find(r.ContactWAID, r.ContactUserID, false); vc != nil {
			r.ContactWAID, r.ContactUserID = orDigits(r.ContactWAID, vc.WAID), or(r.ContactUserID, vc.UserID)
		}
	}
	for i := range c.Statuses {
		st := &c.Statuses[i]
		if vc := v.find(st.RecipientWAID, st.RecipientUserID, false); vc != nil {
			st.RecipientWAID, st.RecipientUserID = orDigits(st.RecipientWAID, vc.WAID), or(st.RecipientUserID, vc.UserID)
			st.RecipientUsername = vc.Profile.Username
		}
	}
}

// find returns the value.contacts[] entry of a contact: the one with the same
// phone number or BSUID, else (when loose) the only one.
func (v *valueState) find(waid, userID string, loose bool) *wireValueContact {
	for i := range v.contacts {
		vc := &v.contacts[i]
		if (waid != "" && Digits(vc.WAID) == waid) || (userID != "" && strings.TrimSpace(vc.UserID) == userID) {
			return vc
		}
	}
	if loose && len(v.contacts) == 1 {
		return &v.contacts[0]
	}
	return nil
}

// profile completes a message's contact from value.contacts[]: the other
// identifier (a payload giving both links them), the name, username and
// country code. A lone profile that matches neither identifier gives only the
// name (live messages name their sender that way).
func (v *valueState) profile(m *Message) {
	vc := v.find(m.ContactWAID, m.ContactUserID, false)
	if vc == nil {
		if vc = v.find("", "", true); vc != nil && m.ContactName == "" && m.Direction == DirectionInbound {
			m.ContactName = vc.Profile.Name
		}
		return
	}
	if len(Digits(vc.WAID)) <= MaxPhoneLength {
		m.ContactWAID = orDigits(m.ContactWAID, vc.WAID)
	}
	if len(strings.TrimSpace(vc.UserID)) <= MaxUserIDLength {
		m.ContactUserID = or(m.ContactUserID, strings.TrimSpace(vc.UserID))
	}
	m.ContactName = or(m.ContactName, vc.Profile.Name)
	m.ContactUsername = or(m.ContactUsername, vc.Profile.Username)
	m.ContactCountryCode = or(m.ContactCountryCode, or(vc.CountryCode, vc.Profile.CountryCode))
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func orDigits(a, b string) string {
	if a != "" {
		return a
	}
	return Digits(b)
}

// historyDirection applies the history rule: outbound when from_me is true or
// the sender is the business number, inbound otherwise.
func historyDirection(m *Message, business string) string {
	if m.FromMe || (business != "" && m.From == business) {
		return DirectionOutbound
	}
	return DirectionInbound
}

// ---- history ----

type wireChunkMeta struct {
	Phase      flexInt `json:"phase"`
	ChunkOrder flexInt `json:"chunk_order"`
	Progress   flexInt `json:"progress"`
}

func (v *valueState) historyItem(k int) error {
	s, c := v.s, v.c
	path := "history " + strconv.Itoa(k)
	start := s.offset()
	if s.kind() != '{' {
		raw, err := s.value()
		if err != nil {
			return err
		}
		c.addError(ItemError{Kind: ItemHistory, Path: path, Err: "not an object", Raw: v.p.clean(raw)})
		return nil
	}
	scratch := scratchPool.Get().(*[]Message)
	defer func() {
		clear(*scratch)
		*scratch = (*scratch)[:0]
		scratchPool.Put(scratch)
	}()
	var (
		chunk              Chunk
		hasMeta, hasChunk  bool
		hasErrors, invalid bool
		metaErr            string
		errs               []wireError
		pending            []ItemError // item errors of the chunk's messages and threads
	)
	err := s.object(func(name string) error {
		switch name {
		case "metadata":
			raw, err := s.value()
			if err != nil {
				return err
			}
			if string(raw) == "null" {
				return nil
			}
			hasMeta, hasChunk = true, true
			var m wireChunkMeta
			if err := decode(raw, &m); err != nil {
				metaErr = "metadata: " + errText(err)
				return nil
			}
			chunk.Phase, chunk.ChunkOrder, chunk.Progress, metaErr = chunkMetadata(m)
		case "threads":
			if s.kind() == '[' {
				hasChunk = true
			}
			return s.items(func(raw []byte) {
				hasChunk, invalid = true, true
				metaErr = or(metaErr, "threads is not an array")
			}, func(t int) error {
				hasChunk = true
				chunk.ThreadCount++
				return v.thread(scratch, path, t, &pending)
			})
		case "errors":
			raw, err := s.value()
			if err != nil {
				return err
			}
			if string(raw) == "null" {
				return nil
			}
			hasErrors = true
			if err := decode(raw, &errs); err != nil {
				metaErr = or(metaErr, "errors: "+errText(err))
			}
		default:
			return s.dec.SkipValue()
		}
		return nil
	})
	if err != nil {
		return err
	}
	switch {
	case !hasChunk && !hasErrors:
		metaErr = "neither a chunk (metadata, threads) nor errors"
	case hasChunk && !hasMeta && !invalid:
		metaErr = or(metaErr, "threads without metadata")
	}
	if metaErr == "" {
		for e, we := range errs {
			he, err := we.toError()
			if err != nil {
				metaErr = fmt.Sprintf("errors %d: %v", e, err)
				break
			}
			c.HistoryErrors = append(c.HistoryErrors, HistoryError(he))
		}
	}
	if metaErr != "" {
		// The chunk cannot be placed: it is quarantined whole, with its raw JSON.
		c.addError(ItemError{Kind: ItemHistory, Path: path, Err: metaErr, Raw: v.p.clean(s.since(start))})
		return nil
	}
	c.ItemErrors = append(c.ItemErrors, pending...)
	if hasChunk {
		if len(*scratch) > 0 {
			chunk.Messages = append(make([]Message, 0, len(*scratch)), *scratch...)
		}
		c.Chunks = append(c.Chunks, chunk)
	}
	return nil
}

func chunkMetadata(m wireChunkMeta) (phase, order, progress int, problem string) {
	var err error
	if phase, err = bounded("phase", m.Phase.n, 100); err == nil {
		if order, err = bounded("chunk_order", m.ChunkOrder.n, math.MaxInt32); err == nil {
			progress, err = bounded("progress", m.Progress.n, 100)
		}
	}
	if err != nil {
		return 0, 0, 0, err.Error()
	}
	return phase, order, progress, ""
}

// bounded checks a chunk number: ≥ 0 and, when upper ≥ 0, ≤ upper.
func bounded(name string, n, upper int64) (int, error) {
	if n < 0 || (upper >= 0 && n > upper) || n > int64(maxInt) {
		return 0, fmt.Errorf("%s: out of range: %d", name, n)
	}
	return int(n), nil
}

const maxInt = int(^uint(0) >> 1)

type wireThreadContext struct {
	WAID        string `json:"wa_id"`
	UserID      string `json:"user_id"`
	Username    string `json:"username"`
	CountryCode string `json:"country_code"`
}

// thread reads one history thread, appending its messages to chunk. A thread
// whose contact cannot be told is quarantined with all its messages.
func (v *valueState) thread(msgs *[]Message, chunkPath string, t int, pending *[]ItemError) error {
	s := v.s
	path := chunkPath + " thread " + strconv.Itoa(t)
	start := s.offset()
	if s.kind() != '{' {
		raw, err := s.value()
		if err != nil {
			return err
		}
		*pending = append(*pending, ItemError{Kind: ItemThread, Path: path, Err: "not an object", Raw: v.p.clean(raw)})
		return nil
	}
	var (
		id, problem string
		tc          wireThreadContext
		first       = len(*msgs)
		firstErr    = len(*pending)
	)
	err := s.object(func(name string) error {
		switch name {
		case "id":
			raw, err := s.value()
			if err != nil {
				return err
			}
			if err := decode(raw, &id); err != nil {
				problem = or(problem, "id: "+errText(err))
			}
		case "context":
			raw, err := s.value()
			if err != nil {
				return err
			}
			if err := decode(raw, &tc); err != nil {
				problem = or(problem, "context: "+errText(err))
			}
		case "messages":
			return v.list(path+" messages", func(p int) error {
				w := &v.w
				raw, err, fatal := s.readMessage(w)
				if fatal != nil {
					return fatal
				}
				if err == nil {
					*msgs = append(*msgs, Message{})
					m := &(*msgs)[len(*msgs)-1]
					if err = w.fill(m, OriginHistory, p); err == nil {
						m.Raw = v.p.clean(raw)
						return nil
					}
					*m = Message{}
					*msgs = (*msgs)[:len(*msgs)-1]
				}
				*pending = append(*pending, ItemError{Kind: ItemMessage, Path: path + " message " + strconv.Itoa(p),
					WAMID: validID(w.ID), Err: errText(err), Raw: v.p.clean(raw)})
				return nil
			})
		default:
			return s.dec.SkipValue()
		}
		return nil
	})
	if err != nil {
		return err
	}
	who := identity{}
	if problem == "" {
		who, problem = threadContact(id, tc, (*msgs)[first:])
	}
	if problem != "" {
		clear((*msgs)[first:])
		*msgs = (*msgs)[:first]
		*pending = append((*pending)[:firstErr], ItemError{Kind: ItemThread, Path: path, Err: problem,
			ContactWAID: who.waid, ContactUserID: who.userID, Raw: v.p.clean(s.since(start))})
		return nil
	}
	username, country := strings.TrimSpace(tc.Username), strings.TrimSpace(tc.CountryCode)
	mine := (*msgs)[first:]
	for i := range mine {
		mine[i].ContactWAID, mine[i].ContactUserID = who.waid, who.userID
		mine[i].ContactUsername, mine[i].ContactCountryCode = username, country
	}
	for i := firstErr; i < len(*pending); i++ {
		(*pending)[i].ContactWAID, (*pending)[i].ContactUserID = who.waid, who.userID
	}
	return nil
}

// threadContact tells a thread's contact: the phone number from its id (or
// context.wa_id) and the BSUID from context.user_id; a username user's thread
// may have neither phone number, and then the BSUID its messages came from
// stands.
func threadContact(id string, tc wireThreadContext, msgs []Message) (identity, string) {
	var who identity
	var err error
	if who.waid, err = phone("id", id); err != nil {
		return who, err.Error()
	}
	if who.waid == "" {
		if who.waid, err = phone("context.wa_id", tc.WAID); err != nil {
			return who, err.Error()
		}
	}
	if who.userID, err = userID("context.user_id", tc.UserID); err != nil {
		return who, err.Error()
	}
	if who.waid == "" && who.userID == "" {
		for _, m := range msgs {
			if m.From == "" && m.FromUserID != "" {
				who.userID = m.FromUserID
				break
			}
		}
	}
	if who.waid == "" && who.userID == "" {
		return who, "thread without id or context.user_id: no contact"
	}
	return who, ""
}

// validID returns a message id for an item error (it may be all that could be read).
func validID(id string) string {
	if len(id) > MaxIDLength {
		return id[:MaxIDLength]
	}
	return strings.ToValidUTF8(id, "\uFFFD")
}

// mediaUpdate reads a history media follow-up: value.messages[] (the
// contact's media, or the business's when sent from its number) or
// value.message_echoes[] (the business's).
func (v *valueState) mediaUpdate(k int, list string, echo bool) error {
	path := list + " " + strconv.Itoa(k)
	w := &v.w
	raw, err, fatal := v.s.readMessage(w)
	if fatal != nil {
		return fatal
	}
	var m Message
	if err == nil {
		m, err = w.toMessage(OriginHistory, k)
	}
	var to identity
	if err == nil {
		to, err = recipient(w)
	}
	if err != nil {
		v.c.addError(ItemError{Kind: ItemMessage, Path: path, WAMID: validID(w.ID), Err: errText(err), Raw: v.p.clean(raw)})
		return nil
	}
	m.Raw = v.p.clean(raw)
	if echo {
		m.Direction = DirectionOutbound
		m.ContactWAID, m.ContactUserID = to.waid, to.userID
	} else {
		m.ContactWAID, m.ContactUserID = m.From, m.FromUserID // outbound ones are settled later
	}
	v.c.MediaUpdates = append(v.c.MediaUpdates, m)
	v.mediaTo = append(v.mediaTo, to)
	return nil
}

func recipient(w *wireMessage) (identity, error) {
	var to identity
	var err error
	if to.waid, err = phone("to", w.To); err != nil {
		return to, err
	}
	to.userID, err = userID("to_user_id", w.ToUserID)
	return to, err
}

// message reads an echo (outbound: the contact is its recipient) or a live
// message (inbound: the contact is its sender). Edits and revokes go to their
// own lists: an echo's are the business's, a live one's the customer's.
func (v *valueState) message(k int, label, origin, direction string) error {
	path := label + " " + strconv.Itoa(k)
	c := v.c
	w := &v.w
	raw, bad, fatal := v.s.readMessage(w)
	if fatal != nil {
		return fatal
	}
	fail := func(err error) error {
		c.addError(ItemError{Kind: ItemMessage, Path: path, WAMID: validID(w.ID), Err: errText(err), Raw: v.p.clean(raw)})
		return nil
	}
	if bad != nil {
		return fail(bad)
	}
	var who identity
	var err error
	if direction == DirectionOutbound {
		who, err = recipient(w)
	} else {
		if who.waid, err = phone("from", w.From); err == nil {
			who.userID, err = userID("from_user_id", w.FromUserID)
		}
	}
	if err != nil {
		return fail(err)
	}
	if who.waid == "" && who.userID == "" {
		if direction == DirectionOutbound {
			return fail(errors.New("no contact: to and to_user_id are empty"))
		}
		return fail(errors.New("no contact: from and from_user_id are empty"))
	}
	clean := v.p.clean(raw)
	switch w.Type {
	case "edit":
		e, err := w.toEdit()
		if err != nil {
			return fail(err)
		}
		e.ContactWAID, e.ContactUserID, e.Direction, e.Origin, e.Raw = who.waid, who.userID, direction, origin, clean
		c.Edits = append(c.Edits, e)
		return nil
	case "revoke":
		r, err := w.toRevoke()
		if err != nil {
			return fail(err)
		}
		r.ContactWAID, r.ContactUserID, r.Direction, r.Origin, r.Raw = who.waid, who.userID, direction, origin, clean
		c.Revokes = append(c.Revokes, r)
		return nil
	}
	m, err := w.toMessage(origin, k)
	if err != nil {
		return fail(err)
	}
	m.Direction, m.ContactWAID, m.ContactUserID, m.Raw = direction, who.waid, who.userID, clean
	c.Messages = append(c.Messages, m)
	return nil
}

// ---- messages: statuses ----

type wireStatus struct {
	ID              string      `json:"id"`
	Status          string      `json:"status"`
	Timestamp       flexInt     `json:"timestamp"`
	RecipientID     string      `json:"recipient_id"`
	RecipientUserID string      `json:"recipient_user_id"`
	Errors          []wireError `json:"errors"`
	Conversation    *struct {
		ID     string `json:"id"`
		Origin struct {
			Type string `json:"type"`
		} `json:"origin"`
		ExpirationTimestamp flexInt `json:"expiration_timestamp"`
	} `json:"conversation"`
	Pricing *struct {
		Billable     flexBool `json:"billable"`
		PricingModel string   `json:"pricing_model"`
		Category     string   `json:"category"`
		Type         string   `json:"type"`
	} `json:"pricing"`
}

func (v *valueState) status(k int) error {
	var w wireStatus
	raw, bad, fatal := v.s.decodeNext(&w)
	if fatal != nil {
		return fatal
	}
	st, err := func() (StatusUpdate, error) {
		if bad != nil {
			return StatusUpdate{}, bad
		}
		if err := messageID("id", w.ID, true); err != nil {
			return StatusUpdate{}, err
		}
		st := StatusUpdate{WAMID: w.ID, Status: NormalizeStatus(w.Status), Timestamp: w.Timestamp.n}
		var err error
		if st.RecipientWAID, err = phone("recipient_id", w.RecipientID); err != nil {
			return st, err
		}
		if st.RecipientUserID, err = userID("recipient_user_id", w.RecipientUserID); err != nil {
			return st, err
		}
		if st.Errors, err = convertErrors(w.Errors); err != nil {
			return st, err
		}
		if len(st.Errors) > 0 {
			st.ErrorCode, st.ErrorTitle = st.Errors[0].Code, st.Errors[0].Title
		}
		if cv := w.Conversation; cv != nil {
			st.ConversationID, st.ConversationOrigin, st.ConversationExpires = cv.ID, cv.Origin.Type, cv.ExpirationTimestamp.n
		}
		if pr := w.Pricing; pr != nil {
			if pr.Billable.set {
				b := pr.Billable.b
				st.Billable = &b
			}
			st.PricingModel, st.PricingCategory, st.PricingType = pr.PricingModel, pr.Category, pr.Type
		}
		return st, nil
	}()
	if err != nil {
		v.c.addError(ItemError{Kind: ItemStatus, Path: "status " + strconv.Itoa(k), WAMID: validID(w.ID), Err: errText(err), Raw: v.p.clean(raw)})
		return nil
	}
	st.Raw = v.p.clean(raw)
	v.c.Statuses = append(v.c.Statuses, st)
	return nil
}

// ---- smb_app_state_sync ----

type wireStateItem struct {
	Type    string `json:"type"`
	Action  string `json:"action"`
	Contact struct {
		FullName    string `json:"full_name"`
		FirstName   string `json:"first_name"`
		PhoneNumber string `json:"phone_number"`
		UserID      string `json:"user_id"`
		Username    string `json:"username"`
		CountryCode string `json:"country_code"`
	} `json:"contact"`
	Metadata struct {
		Timestamp flexInt `json:"timestamp"`
	} `json:"metadata"`
}

func (v *valueState) stateSync(k int) error {
	var w wireStateItem
	raw, bad, fatal := v.s.decodeNext(&w)
	if fatal != nil {
		return fatal
	}
	cc, err := func() (ContactChange, error) {
		if bad != nil {
			return ContactChange{}, bad
		}
		if !strings.EqualFold(w.Type, "contact") {
			return ContactChange{}, nil
		}
		var cc ContactChange
		var err error
		if cc.WAID, err = phone("phone_number", w.Contact.PhoneNumber); err != nil {
			return cc, err
		}
		if cc.UserID, err = userID("user_id", w.Contact.UserID); err != nil {
			return cc, err
		}
		if cc.WAID == "" && cc.UserID == "" {
			return cc, errors.New("contact without phone_number or user_id")
		}
		cc.Username, cc.CountryCode = strings.TrimSpace(w.Contact.Username), strings.TrimSpace(w.Contact.CountryCode)
		cc.FullName, cc.FirstName = w.Contact.FullName, w.Contact.FirstName
		cc.Removed = strings.EqualFold(strings.TrimSpace(w.Action), "remove")
		cc.Timestamp = w.Metadata.Timestamp.n
		return cc, nil
	}()
	if err == nil && !strings.EqualFold(w.Type, "contact") {
		return nil // other state types stay in Raw
	}
	if err != nil {
		v.c.addError(ItemError{Kind: ItemContact, Path: "state_sync " + strconv.Itoa(k), ContactWAID: cc.WAID,
			ContactUserID: cc.UserID, Err: errText(err), Raw: v.p.clean(raw)})
		return nil
	}
	v.c.Contacts = append(v.c.Contacts, cc)
	return nil
}
