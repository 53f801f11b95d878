package coex

import (
	"errors"
	"strconv"
	"strings"
)

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
