package coex

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// wireMessage is the common part of a message object from any webhook. The
// type-specific object (the value under the key named by Type) stays raw in
// Content and is decoded only for the types we understand.
type wireMessage struct {
	ID, From, To, Type string
	Timestamp          json.RawMessage
	HistoryStatus      string // history_context.status, as sent
	fromMe             bool   // history_context.from_me
	Errors             []wireError
	Content            json.RawMessage
	Raw                json.RawMessage
}

// wireMessageJSON is the decoding shape of a message object: the common
// fields plus the content objects of the types fill understands.
type wireMessageJSON struct {
	ID             string          `json:"id"`
	From           string          `json:"from"`
	To             string          `json:"to"`
	Type           string          `json:"type"`
	Timestamp      json.RawMessage `json:"timestamp"`
	HistoryContext *struct {
		Status string          `json:"status"`
		FromMe json.RawMessage `json:"from_me"`
	} `json:"history_context"`
	Errors []wireError `json:"errors"`

	Text        json.RawMessage `json:"text"`
	Image       json.RawMessage `json:"image"`
	Video       json.RawMessage `json:"video"`
	Document    json.RawMessage `json:"document"`
	Audio       json.RawMessage `json:"audio"`
	Sticker     json.RawMessage `json:"sticker"`
	Location    json.RawMessage `json:"location"`
	Reaction    json.RawMessage `json:"reaction"`
	Button      json.RawMessage `json:"button"`
	Interactive json.RawMessage `json:"interactive"`
	Revoke      json.RawMessage `json:"revoke"`
	Edit        json.RawMessage `json:"edit"`
}

// content returns the object under the key named by the message type, or nil
// for types fill does not read.
func (j *wireMessageJSON) content() json.RawMessage {
	switch j.Type {
	case "text":
		return j.Text
	case "image":
		return j.Image
	case "video":
		return j.Video
	case "document":
		return j.Document
	case "audio":
		return j.Audio
	case "sticker":
		return j.Sticker
	case "location":
		return j.Location
	case "reaction":
		return j.Reaction
	case "button":
		return j.Button
	case "interactive":
		return j.Interactive
	case "revoke":
		return j.Revoke
	case "edit":
		return j.Edit
	}
	return nil
}

// decodeMessage decodes the common fields of a message object. It fails when
// raw is not an object, a common field has the wrong type, or id is missing.
func decodeMessage(raw json.RawMessage) (wireMessage, error) {
	w, err := decodeMessageFields(raw)
	if err != nil {
		return wireMessage{}, err
	}
	if w.ID == "" {
		return wireMessage{}, errors.New("missing id")
	}
	return w, nil
}

// decodeMessageFields is decodeMessage without the id requirement, for
// message objects nested in an edit.
func decodeMessageFields(raw json.RawMessage) (wireMessage, error) {
	if isAbsent(raw) {
		return wireMessage{}, errors.New("message is null")
	}
	var j wireMessageJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return wireMessage{}, err
	}
	w := wireMessage{
		ID: j.ID, From: j.From, To: j.To, Type: j.Type,
		Timestamp: j.Timestamp, Errors: j.Errors, Content: j.content(), Raw: raw,
	}
	if hc := j.HistoryContext; hc != nil {
		fromMe, err := parseFlexBool(hc.FromMe)
		if err != nil {
			return wireMessage{}, fmt.Errorf("(%s) history_context.from_me: %w", w.ID, err)
		}
		w.HistoryStatus, w.fromMe = hc.Status, fromMe
	}
	return w, nil
}

func (w wireMessage) timestamp() (int64, error) {
	ts, _, err := parseFlexInt(w.Timestamp)
	if err != nil {
		return 0, fmt.Errorf("timestamp: %w", err)
	}
	return ts, nil
}

// toMessage builds the normalised Message; the caller sets Direction and
// ContactWAID (and ContactName for live messages).
func (w wireMessage) toMessage(origin string, position int) (Message, error) {
	ts, err := w.timestamp()
	if err != nil {
		return Message{}, err
	}
	var c messageContent
	if err := c.fill(w); err != nil {
		return Message{}, err
	}
	m := Message{
		WAMID:           w.ID,
		Type:            w.Type,
		Text:            c.Text,
		Timestamp:       ts,
		Status:          NormalizeStatus(w.HistoryStatus),
		Origin:          origin,
		MediaID:         c.MediaID,
		MimeType:        c.MimeType,
		MediaSHA256:     c.SHA256,
		Filename:        c.Filename,
		ReactionTo:      c.ReactionTo,
		ReactionEmoji:   c.ReactionEmoji,
		Latitude:        c.Latitude,
		Longitude:       c.Longitude,
		LocationName:    c.LocationName,
		LocationAddress: c.LocationAddress,
		Position:        position,
		Raw:             w.Raw,
	}
	if len(w.Errors) > 0 {
		code, err := w.Errors[0].code()
		if err != nil {
			return Message{}, fmt.Errorf("errors 0: %w", err)
		}
		m.ErrorCode, m.ErrorTitle = code, w.Errors[0].Title
	}
	return m, nil
}

// messageContent is what we read from the type-specific object.
type messageContent struct {
	Text                          string
	MediaID, MimeType, SHA256     string
	Filename                      string
	ReactionTo, ReactionEmoji     string
	Latitude, Longitude           *float64
	LocationName, LocationAddress string
}

// fill decodes w.Content according to w.Type. Unknown types leave c empty.
func (c *messageContent) fill(w wireMessage) error {
	switch w.Type {
	case "text":
		var t struct {
			Body string `json:"body"`
		}
		if err := decodeContent(w.Content, &t); err != nil {
			return fmt.Errorf("text: %w", err)
		}
		c.Text = t.Body
	case "image", "video", "document", "audio", "sticker":
		var m struct {
			ID       string `json:"id"`
			MimeType string `json:"mime_type"`
			SHA256   string `json:"sha256"`
			Caption  string `json:"caption"`
			Filename string `json:"filename"`
		}
		if err := decodeContent(w.Content, &m); err != nil {
			return fmt.Errorf("%s: %w", w.Type, err)
		}
		c.MediaID, c.MimeType, c.SHA256, c.Filename, c.Text = m.ID, m.MimeType, m.SHA256, m.Filename, m.Caption
	case "location":
		var l struct {
			Latitude  json.RawMessage `json:"latitude"`
			Longitude json.RawMessage `json:"longitude"`
			Name      string          `json:"name"`
			Address   string          `json:"address"`
		}
		if err := decodeContent(w.Content, &l); err != nil {
			return fmt.Errorf("location: %w", err)
		}
		var err error
		if c.Latitude, err = parseFlexFloat(l.Latitude); err != nil {
			return fmt.Errorf("location.latitude: %w", err)
		}
		if c.Longitude, err = parseFlexFloat(l.Longitude); err != nil {
			return fmt.Errorf("location.longitude: %w", err)
		}
		c.LocationName, c.LocationAddress = l.Name, l.Address
		c.Text = joinNonEmpty(" — ", l.Name, l.Address)
	case "reaction":
		var r struct {
			MessageID string `json:"message_id"`
			Emoji     string `json:"emoji"`
		}
		if err := decodeContent(w.Content, &r); err != nil {
			return fmt.Errorf("reaction: %w", err)
		}
		c.ReactionTo, c.ReactionEmoji, c.Text = r.MessageID, r.Emoji, r.Emoji
	case "button":
		var b struct {
			Text string `json:"text"`
		}
		if err := decodeContent(w.Content, &b); err != nil {
			return fmt.Errorf("button: %w", err)
		}
		c.Text = b.Text
	case "interactive":
		var i struct {
			ButtonReply *struct {
				Title string `json:"title"`
			} `json:"button_reply"`
			ListReply *struct {
				Title string `json:"title"`
			} `json:"list_reply"`
		}
		if err := decodeContent(w.Content, &i); err != nil {
			return fmt.Errorf("interactive: %w", err)
		}
		switch {
		case i.ButtonReply != nil:
			c.Text = i.ButtonReply.Title
		case i.ListReply != nil:
			c.Text = i.ListReply.Title
		}
	}
	return nil
}

// decodeContent decodes a type-specific object; absent or null leaves dst zero.
func decodeContent(raw json.RawMessage, dst any) error {
	if isAbsent(raw) {
		return nil
	}
	return json.Unmarshal(raw, dst)
}

func joinNonEmpty(sep string, parts ...string) string {
	kept := parts[:0:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, sep)
}
