package coex

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Errors returned by Parse. Compare with errors.Is.
var (
	// ErrNotEnvelope means the body is not a WhatsApp Business webhook at all.
	ErrNotEnvelope = errors.New("not a WhatsApp Business webhook envelope")
	// ErrMalformed means the envelope is valid but an entry or change is not
	// well formed for its field; the message names the entry, change and item.
	ErrMalformed = errors.New("malformed webhook change")
)

// Parse decodes one webhook delivery. It returns an error wrapping
// ErrNotEnvelope when body is not a whatsapp_business_account envelope with an
// entry array, and one wrapping ErrMalformed (naming entry, change and item)
// when a change of a known field is not well formed. Unknown fields and
// message types are never rejected.
func Parse(body []byte) (*Batch, error) {
	// One typed pass down to each change's value; the values are decoded
	// per field below, where item indices are known for error messages.
	var env struct {
		Object *string      `json:"object"`
		Entry  *[]wireEntry `json:"entry"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, explainEnvelopeError(body, err)
	}
	if err := checkEnvelope(env.Object, env.Entry != nil); err != nil {
		return nil, err
	}
	batch := &Batch{}
	for i, entry := range *env.Entry {
		for j, wc := range entry.Changes {
			change, err := parseChange(entry.ID, wc)
			if err != nil {
				return nil, fmt.Errorf("%w: entry %d change %d (%s): %w", ErrMalformed, i, j, wc.Field, err)
			}
			batch.Changes = append(batch.Changes, change)
		}
	}
	return batch, nil
}

type wireEntry struct {
	ID      string       `json:"id"`
	Changes []wireChange `json:"changes"`
}

type wireChange struct {
	Field string          `json:"field"`
	Value json.RawMessage `json:"value"`
}

func checkEnvelope(object *string, hasEntry bool) error {
	switch {
	case object == nil:
		return fmt.Errorf("%w: no object", ErrNotEnvelope)
	case *object != ObjectWhatsAppBusinessAccount:
		return fmt.Errorf("%w: object %q", ErrNotEnvelope, clip([]byte(*object)))
	case !hasEntry:
		return fmt.Errorf("%w: no entry array", ErrNotEnvelope)
	}
	return nil
}

// explainEnvelopeError classifies a failed envelope decode (error path only):
// ErrNotEnvelope when the body is not JSON or lacks the envelope shape,
// ErrMalformed naming the entry and change otherwise.
func explainEnvelopeError(body []byte, decodeErr error) error {
	var probe struct {
		Object *string         `json:"object"`
		Entry  json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return fmt.Errorf("%w: %w", ErrNotEnvelope, err)
	}
	if err := checkEnvelope(probe.Object, !isAbsent(probe.Entry)); err != nil {
		return err
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(probe.Entry, &entries); err != nil {
		return fmt.Errorf("%w: entry is not an array: %w", ErrNotEnvelope, err)
	}
	for i, rawEntry := range entries {
		var entry struct {
			ID      string            `json:"id"`
			Changes []json.RawMessage `json:"changes"`
		}
		if err := json.Unmarshal(rawEntry, &entry); err != nil {
			return fmt.Errorf("%w: entry %d: %w", ErrMalformed, i, err)
		}
		for j, rawChange := range entry.Changes {
			var wc wireChange
			if err := json.Unmarshal(rawChange, &wc); err != nil {
				return fmt.Errorf("%w: entry %d change %d: %w", ErrMalformed, i, j, err)
			}
		}
	}
	return fmt.Errorf("%w: %w", ErrMalformed, decodeErr)
}

// parseChange decodes one change's value according to its field.
func parseChange(wabaID string, wire wireChange) (Change, error) {
	change := Change{WABAID: wabaID, Field: wire.Field}
	if isAbsent(wire.Value) {
		return change, nil
	}
	change.Raw = wire.Value

	var err error
	switch wire.Field {
	case FieldHistory:
		err = parseHistory(&change, wire.Value)
	case FieldSMBAppStateSync:
		err = parseStateSync(&change, wire.Value)
	case FieldSMBMessageEchoes:
		err = parseEchoes(&change, wire.Value)
	case FieldMessages:
		err = parseLive(&change, wire.Value)
	case FieldAccountUpdate:
		err = parseAccountUpdate(&change, wire.Value)
	default:
		// Unknown field: keep the ids when they are where we expect them.
		var v struct {
			Metadata wireMetadata `json:"metadata"`
		}
		if json.Unmarshal(wire.Value, &v) == nil {
			change.setMetadata(v.Metadata)
		}
	}
	return change, err
}

type wireMetadata struct {
	DisplayPhoneNumber string `json:"display_phone_number"`
	PhoneNumberID      string `json:"phone_number_id"`
}

func (c *Change) setMetadata(m wireMetadata) {
	c.DisplayPhoneNumber = m.DisplayPhoneNumber
	c.PhoneNumberID = m.PhoneNumberID
}

// ---- history ----

func parseHistory(change *Change, value json.RawMessage) error {
	var v struct {
		Metadata wireMetadata      `json:"metadata"`
		History  []wireHistoryItem `json:"history"`
		Messages []json.RawMessage `json:"messages"`
	}
	if err := json.Unmarshal(value, &v); err != nil {
		return locateHistoryError(value, err)
	}
	change.setMetadata(v.Metadata)
	business := Digits(v.Metadata.DisplayPhoneNumber)

	for k, item := range v.History {
		if err := addHistoryItem(change, item, business); err != nil {
			return fmt.Errorf("history item %d: %w", k, err)
		}
	}
	for k, rawMsg := range v.Messages {
		w, err := decodeMessage(rawMsg)
		if err != nil {
			return fmt.Errorf("media update %d: %w", k, err)
		}
		msg, err := w.toMessage(OriginHistory, k)
		if err != nil {
			return fmt.Errorf("media update %d (%s): %w", k, w.ID, err)
		}
		msg.Direction = historyDirection(w, business)
		if msg.Direction == DirectionOutbound {
			msg.ContactWAID = Digits(w.To)
		} else {
			msg.ContactWAID = Digits(w.From)
		}
		change.MediaUpdates = append(change.MediaUpdates, msg)
	}
	return nil
}

// locateHistoryError adds the item index to a failed history decode (error
// path only).
func locateHistoryError(value json.RawMessage, decodeErr error) error {
	var v struct {
		History []json.RawMessage `json:"history"`
	}
	if json.Unmarshal(value, &v) != nil {
		return decodeErr
	}
	for k, raw := range v.History {
		var item wireHistoryItem
		if err := json.Unmarshal(raw, &item); err != nil {
			return fmt.Errorf("history item %d: %w", k, err)
		}
	}
	return decodeErr
}

// wireHistoryItem is a value.history[] item: a chunk (metadata, threads) or
// an error report (errors). Absent and null arrays decode to nil.
type wireHistoryItem struct {
	Metadata json.RawMessage `json:"metadata"`
	Threads  []struct {
		ID       string            `json:"id"`
		Messages []json.RawMessage `json:"messages"`
	} `json:"threads"`
	Errors []wireError `json:"errors"`
}

func addHistoryItem(change *Change, item wireHistoryItem, business string) error {
	hasChunk := !isAbsent(item.Metadata) || item.Threads != nil
	hasErrors := item.Errors != nil
	if !hasChunk && !hasErrors {
		return errors.New("neither a chunk (metadata, threads) nor errors")
	}
	for k, we := range item.Errors {
		he, err := we.toHistoryError()
		if err != nil {
			return fmt.Errorf("errors %d: %w", k, err)
		}
		change.HistoryErrors = append(change.HistoryErrors, he)
	}
	if !hasChunk {
		return nil
	}
	if isAbsent(item.Metadata) {
		return errors.New("threads without metadata")
	}
	chunk, err := parseChunkMetadata(item.Metadata)
	if err != nil {
		return err
	}
	chunk.ThreadCount = len(item.Threads)
	total := 0
	for _, thread := range item.Threads {
		total += len(thread.Messages)
	}
	// A chunk holds thousands of messages: one allocation instead of a copy per growth.
	chunk.Messages = make([]Message, 0, total)
	for t, thread := range item.Threads {
		contact := Digits(thread.ID)
		if contact == "" {
			return fmt.Errorf("thread %d: missing id", t)
		}
		for p, rawMsg := range thread.Messages {
			w, err := decodeMessage(rawMsg)
			if err != nil {
				return fmt.Errorf("thread %d message %d: %w", t, p, err)
			}
			msg, err := w.toMessage(OriginHistory, p)
			if err != nil {
				return fmt.Errorf("thread %d message %d (%s): %w", t, p, w.ID, err)
			}
			msg.Direction = historyDirection(w, business)
			msg.ContactWAID = contact
			chunk.Messages = append(chunk.Messages, msg)
		}
	}
	change.Chunks = append(change.Chunks, chunk)
	return nil
}

func parseChunkMetadata(raw json.RawMessage) (Chunk, error) {
	var m struct {
		Phase      json.RawMessage `json:"phase"`
		ChunkOrder json.RawMessage `json:"chunk_order"`
		Progress   json.RawMessage `json:"progress"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return Chunk{}, fmt.Errorf("metadata: %w", err)
	}
	phase, err := nonNegative("phase", m.Phase, -1)
	if err != nil {
		return Chunk{}, err
	}
	order, err := nonNegative("chunk_order", m.ChunkOrder, -1)
	if err != nil {
		return Chunk{}, err
	}
	progress, err := nonNegative("progress", m.Progress, 100)
	if err != nil {
		return Chunk{}, err
	}
	return Chunk{Phase: phase, ChunkOrder: order, Progress: progress}, nil
}

// nonNegative parses a FlexInt field that must be ≥ 0 and, when upper ≥ 0,
// ≤ upper. A missing field is 0.
func nonNegative(name string, raw json.RawMessage, upper int64) (int, error) {
	n, _, err := parseFlexInt(raw)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	if n < 0 || (upper >= 0 && n > upper) || n > int64(maxInt) {
		return 0, fmt.Errorf("%s: out of range: %d", name, n)
	}
	return int(n), nil
}

const maxInt = int(^uint(0) >> 1)

// historyDirection applies the history rule: outbound when from_me is true or
// the sender is the business number, inbound otherwise.
func historyDirection(w wireMessage, business string) string {
	if w.fromMe || (business != "" && Digits(w.From) == business) {
		return DirectionOutbound
	}
	return DirectionInbound
}

// ---- smb_app_state_sync ----

func parseStateSync(change *Change, value json.RawMessage) error {
	var v struct {
		Metadata  wireMetadata `json:"metadata"`
		StateSync []struct {
			Type    string `json:"type"`
			Action  string `json:"action"`
			Contact struct {
				FullName    string `json:"full_name"`
				FirstName   string `json:"first_name"`
				PhoneNumber string `json:"phone_number"`
			} `json:"contact"`
			Metadata struct {
				Timestamp json.RawMessage `json:"timestamp"`
			} `json:"metadata"`
		} `json:"state_sync"`
	}
	if err := json.Unmarshal(value, &v); err != nil {
		return err
	}
	change.setMetadata(v.Metadata)
	for k, item := range v.StateSync {
		if !strings.EqualFold(item.Type, "contact") {
			continue // other state types stay in Raw
		}
		waid := Digits(item.Contact.PhoneNumber)
		if waid == "" {
			return fmt.Errorf("state_sync %d: contact without phone_number", k)
		}
		ts, _, err := parseFlexInt(item.Metadata.Timestamp)
		if err != nil {
			return fmt.Errorf("state_sync %d: timestamp: %w", k, err)
		}
		change.Contacts = append(change.Contacts, ContactChange{
			WAID:      waid,
			FullName:  item.Contact.FullName,
			FirstName: item.Contact.FirstName,
			Removed:   strings.EqualFold(strings.TrimSpace(item.Action), "remove"),
			Timestamp: ts,
		})
	}
	return nil
}

// ---- smb_message_echoes ----

func parseEchoes(change *Change, value json.RawMessage) error {
	var v struct {
		Metadata      wireMetadata      `json:"metadata"`
		MessageEchoes []json.RawMessage `json:"message_echoes"`
	}
	if err := json.Unmarshal(value, &v); err != nil {
		return err
	}
	change.setMetadata(v.Metadata)
	for k, raw := range v.MessageEchoes {
		w, err := decodeMessage(raw)
		if err != nil {
			return fmt.Errorf("echo %d: %w", k, err)
		}
		if err := addMessage(change, w, route{OriginEcho, DirectionOutbound, Digits(w.To), ""}, k); err != nil {
			return fmt.Errorf("echo %d (%s): %w", k, w.ID, err)
		}
	}
	return nil
}

// route says where an echo or live message belongs.
type route struct {
	origin, direction, contact, contactName string
}

// addMessage routes an echo or live message: edits and revokes to their own
// lists, everything else to Messages.
func addMessage(change *Change, w wireMessage, r route, position int) error {
	switch w.Type {
	case "revoke":
		var rv struct {
			OriginalMessageID string `json:"original_message_id"`
		}
		if err := decodeContent(w.Content, &rv); err != nil {
			return fmt.Errorf("revoke: %w", err)
		}
		if rv.OriginalMessageID == "" {
			return errors.New("revoke: missing original_message_id")
		}
		ts, err := w.timestamp()
		if err != nil {
			return err
		}
		change.Revokes = append(change.Revokes, Revoke{
			WAMID: w.ID, OriginalWAMID: rv.OriginalMessageID, Timestamp: ts, ContactWAID: r.contact, Raw: w.Raw,
		})
		return nil
	case "edit":
		var e struct {
			OriginalMessageID string          `json:"original_message_id"`
			Message           json.RawMessage `json:"message"`
		}
		if err := decodeContent(w.Content, &e); err != nil {
			return fmt.Errorf("edit: %w", err)
		}
		if e.OriginalMessageID == "" {
			return errors.New("edit: missing original_message_id")
		}
		var text string
		if !isAbsent(e.Message) {
			inner, err := decodeMessageFields(e.Message)
			if err != nil {
				return fmt.Errorf("edit: message: %w", err)
			}
			var content messageContent
			if err := content.fill(inner); err != nil {
				return fmt.Errorf("edit: message: %w", err)
			}
			text = content.Text
		}
		ts, err := w.timestamp()
		if err != nil {
			return err
		}
		change.Edits = append(change.Edits, Edit{
			WAMID: w.ID, OriginalWAMID: e.OriginalMessageID, NewText: text, Timestamp: ts, ContactWAID: r.contact, Raw: w.Raw,
		})
		return nil
	}
	msg, err := w.toMessage(r.origin, position)
	if err != nil {
		return err
	}
	msg.Direction, msg.ContactWAID, msg.ContactName = r.direction, r.contact, r.contactName
	change.Messages = append(change.Messages, msg)
	return nil
}

// ---- messages (live) ----

func parseLive(change *Change, value json.RawMessage) error {
	var v struct {
		Metadata wireMetadata `json:"metadata"`
		Contacts []struct {
			WAID    string `json:"wa_id"`
			Profile struct {
				Name string `json:"name"`
			} `json:"profile"`
		} `json:"contacts"`
		Messages []json.RawMessage `json:"messages"`
		Statuses []json.RawMessage `json:"statuses"`
	}
	if err := json.Unmarshal(value, &v); err != nil {
		return err
	}
	change.setMetadata(v.Metadata)

	names := make(map[string]string, len(v.Contacts))
	for _, c := range v.Contacts {
		names[Digits(c.WAID)] = c.Profile.Name
	}
	for k, raw := range v.Messages {
		w, err := decodeMessage(raw)
		if err != nil {
			return fmt.Errorf("message %d: %w", k, err)
		}
		contact := Digits(w.From)
		name, ok := names[contact]
		if !ok && len(v.Contacts) == 1 {
			name = v.Contacts[0].Profile.Name
		}
		if err := addMessage(change, w, route{OriginLive, DirectionInbound, contact, name}, k); err != nil {
			return fmt.Errorf("message %d (%s): %w", k, w.ID, err)
		}
	}
	for k, raw := range v.Statuses {
		s, err := parseStatus(raw)
		if err != nil {
			return fmt.Errorf("status %d: %w", k, err)
		}
		change.Statuses = append(change.Statuses, s)
	}
	return nil
}

func parseStatus(raw json.RawMessage) (StatusUpdate, error) {
	var w struct {
		ID          string          `json:"id"`
		Status      string          `json:"status"`
		Timestamp   json.RawMessage `json:"timestamp"`
		RecipientID string          `json:"recipient_id"`
		Errors      []wireError     `json:"errors"`
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		return StatusUpdate{}, err
	}
	if w.ID == "" {
		return StatusUpdate{}, errors.New("missing id")
	}
	ts, _, err := parseFlexInt(w.Timestamp)
	if err != nil {
		return StatusUpdate{}, fmt.Errorf("(%s) timestamp: %w", w.ID, err)
	}
	s := StatusUpdate{
		WAMID:         w.ID,
		Status:        NormalizeStatus(w.Status),
		Timestamp:     ts,
		RecipientWAID: Digits(w.RecipientID),
		Raw:           raw,
	}
	if len(w.Errors) > 0 {
		code, err := w.Errors[0].code()
		if err != nil {
			return StatusUpdate{}, fmt.Errorf("(%s) errors 0: %w", w.ID, err)
		}
		s.ErrorCode, s.ErrorTitle = code, w.Errors[0].Title
	}
	return s, nil
}

// ---- account_update ----

func parseAccountUpdate(change *Change, value json.RawMessage) error {
	var v struct {
		Event             string `json:"event"`
		DisconnectionInfo *struct {
			Reason      string `json:"reason"`
			InitiatedBy string `json:"initiated_by"`
		} `json:"disconnection_info"`
	}
	if err := json.Unmarshal(value, &v); err != nil {
		return err
	}
	ev := &AccountEvent{Event: v.Event}
	if v.DisconnectionInfo != nil {
		ev.Reason, ev.InitiatedBy = v.DisconnectionInfo.Reason, v.DisconnectionInfo.InitiatedBy
	}
	// waba_info differs between events; read it leniently.
	var info struct {
		WABAInfo struct {
			WABAID string `json:"waba_id"`
		} `json:"waba_info"`
		Metadata wireMetadata `json:"metadata"`
	}
	if json.Unmarshal(value, &info) == nil {
		ev.WABAID = info.WABAInfo.WABAID
		change.setMetadata(info.Metadata)
	}
	change.Account = ev
	return nil
}

// ---- shared wire types ----

type wireError struct {
	Code      json.RawMessage `json:"code"`
	Title     string          `json:"title"`
	Message   string          `json:"message"`
	ErrorData struct {
		Details string `json:"details"`
	} `json:"error_data"`
}

func (w wireError) code() (int, error) {
	n, _, err := parseFlexInt(w.Code)
	if err != nil {
		return 0, fmt.Errorf("code: %w", err)
	}
	if n < -int64(maxInt)-1 || n > int64(maxInt) {
		return 0, fmt.Errorf("code: out of range: %d", n)
	}
	return int(n), nil
}

func (w wireError) toHistoryError() (HistoryError, error) {
	code, err := w.code()
	if err != nil {
		return HistoryError{}, err
	}
	return HistoryError{Code: code, Title: w.Title, Message: w.Message, Details: w.ErrorData.Details}, nil
}
