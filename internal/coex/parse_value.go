package coex

import (
	"strconv"
	"strings"
)

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
