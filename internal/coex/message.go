package coex

import (
	"errors"
	"fmt"
	"strings"
)

// wireMessage is the decoding shape of a message object from any webhook:
// the common fields plus the content object of every type we read. Keys we
// do not know are skipped, so unknown types are kept (in Raw) and never
// rejected.
type wireMessage struct {
	ID             string             `json:"id"`
	From           string             `json:"from"`
	FromUserID     string             `json:"from_user_id"`
	To             string             `json:"to"`
	ToUserID       string             `json:"to_user_id"`
	Type           string             `json:"type"`
	Timestamp      flexInt            `json:"timestamp"`
	HistoryContext wireHistoryContext `json:"history_context"`
	Errors         []wireError        `json:"errors"`
	Context        *wireContext       `json:"context"`
	Referral       *wireReferral      `json:"referral"`

	Text        wireText            `json:"text"`
	Image       *wireMedia          `json:"image"`
	Video       *wireMedia          `json:"video"`
	Document    *wireMedia          `json:"document"`
	Audio       *wireMedia          `json:"audio"`
	Sticker     *wireMedia          `json:"sticker"`
	Location    *wireLocation       `json:"location"`
	Reaction    *wireReaction       `json:"reaction"`
	Button      *wireButton         `json:"button"`
	Interactive *wireInteractive    `json:"interactive"`
	Contacts    []wireSharedContact `json:"contacts"`
	Order       *wireOrder          `json:"order"`
	System      *wireSystem         `json:"system"`
	Unsupported *wireUnsupported    `json:"unsupported"`
	Revoke      *wireOriginal       `json:"revoke"`
	Edit        *wireEdit           `json:"edit"`
}

type wireHistoryContext struct {
	Status string   `json:"status"`
	FromMe flexBool `json:"from_me"`
}

type wireText struct {
	Body string `json:"body"`
}

type wireMedia struct {
	ID       string   `json:"id"`
	MimeType string   `json:"mime_type"`
	SHA256   string   `json:"sha256"`
	Caption  string   `json:"caption"`
	Filename string   `json:"filename"`
	Voice    flexBool `json:"voice"`
	Animated flexBool `json:"animated"`
}

type wireLocation struct {
	Latitude  flexFloat `json:"latitude"`
	Longitude flexFloat `json:"longitude"`
	Name      string    `json:"name"`
	Address   string    `json:"address"`
	URL       string    `json:"url"`
}

type wireReaction struct {
	MessageID string `json:"message_id"`
	Emoji     string `json:"emoji"`
}

type wireButton struct {
	Payload string `json:"payload"`
	Text    string `json:"text"`
}

type wireInteractive struct {
	Type        string `json:"type"`
	ButtonReply *struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	} `json:"button_reply"`
	ListReply *struct {
		ID          string `json:"id"`
		Title       string `json:"title"`
		Description string `json:"description"`
	} `json:"list_reply"`
	NFMReply *struct {
		Name         string `json:"name"`
		Body         string `json:"body"`
		ResponseJSON string `json:"response_json"`
	} `json:"nfm_reply"`
}

type wireSharedContact struct {
	Name struct {
		FormattedName string `json:"formatted_name"`
		FirstName     string `json:"first_name"`
		LastName      string `json:"last_name"`
	} `json:"name"`
	Org struct {
		Company    string `json:"company"`
		Department string `json:"department"`
		Title      string `json:"title"`
	} `json:"org"`
	Birthday string `json:"birthday"`
	Phones   []struct {
		Phone string `json:"phone"`
		WAID  string `json:"wa_id"`
		Type  string `json:"type"`
	} `json:"phones"`
	Emails []struct {
		Email string `json:"email"`
		Type  string `json:"type"`
	} `json:"emails"`
	URLs []struct {
		URL  string `json:"url"`
		Type string `json:"type"`
	} `json:"urls"`
	Addresses []struct {
		Street      string `json:"street"`
		City        string `json:"city"`
		State       string `json:"state"`
		Zip         string `json:"zip"`
		Country     string `json:"country"`
		CountryCode string `json:"country_code"`
		Type        string `json:"type"`
	} `json:"addresses"`
}

type wireOrder struct {
	CatalogID    string `json:"catalog_id"`
	Text         string `json:"text"`
	ProductItems []struct {
		ProductRetailerID string    `json:"product_retailer_id"`
		Quantity          flexInt   `json:"quantity"`
		ItemPrice         flexFloat `json:"item_price"`
		Currency          string    `json:"currency"`
	} `json:"product_items"`
}

type wireSystem struct {
	Body     string `json:"body"`
	Type     string `json:"type"`
	WAID     string `json:"wa_id"`
	NewWAID  string `json:"new_wa_id"`
	UserID   string `json:"user_id"`
	Customer string `json:"customer"`
}

type wireUnsupported struct {
	Type string `json:"type"`
}

type wireOriginal struct {
	OriginalMessageID string `json:"original_message_id"`
}

type wireEdit struct {
	OriginalMessageID string       `json:"original_message_id"`
	Message           *wireMessage `json:"message"`
}

type wireContext struct {
	From                string   `json:"from"`
	ID                  string   `json:"id"`
	Forwarded           flexBool `json:"forwarded"`
	FrequentlyForwarded flexBool `json:"frequently_forwarded"`
	ReferredProduct     *struct {
		CatalogID         string `json:"catalog_id"`
		ProductRetailerID string `json:"product_retailer_id"`
	} `json:"referred_product"`
}

type wireReferral struct {
	SourceURL    string `json:"source_url"`
	SourceType   string `json:"source_type"`
	SourceID     string `json:"source_id"`
	Headline     string `json:"headline"`
	Body         string `json:"body"`
	MediaType    string `json:"media_type"`
	ImageURL     string `json:"image_url"`
	VideoURL     string `json:"video_url"`
	ThumbnailURL string `json:"thumbnail_url"`
	CTWAClid     string `json:"ctwa_clid"`
}

type wireError struct {
	Code      flexInt `json:"code"`
	Title     string  `json:"title"`
	Message   string  `json:"message"`
	ErrorData struct {
		Details string `json:"details"`
	} `json:"error_data"`
}

func (w wireError) toError() (MessageError, error) {
	if w.Code.n < -int64(maxInt)-1 || w.Code.n > int64(maxInt) {
		return MessageError{}, fmt.Errorf("code: out of range: %d", w.Code.n)
	}
	return MessageError{Code: int(w.Code.n), Title: w.Title, Message: w.Message, Details: w.ErrorData.Details}, nil
}

func convertErrors(ws []wireError) ([]MessageError, error) {
	if len(ws) == 0 {
		return nil, nil
	}
	out := make([]MessageError, len(ws))
	for i, w := range ws {
		e, err := w.toError()
		if err != nil {
			return nil, fmt.Errorf("errors %d: %w", i, err)
		}
		out[i] = e
	}
	return out, nil
}

// phone normalises a phone number and checks its length.
func phone(name, v string) (string, error) {
	d := Digits(v)
	if len(d) > MaxPhoneLength {
		return "", fmt.Errorf("%s: too long for a phone number (%d characters)", name, len(d))
	}
	return d, nil
}

// userID trims a BSUID and checks its length.
func userID(name, v string) (string, error) {
	v = strings.TrimSpace(v)
	if len(v) > MaxUserIDLength {
		return "", fmt.Errorf("%s: too long for a user id (%d characters)", name, len(v))
	}
	return v, nil
}

// messageID checks a wamid: present (unless optional) and not too long.
func messageID(name, v string, required bool) error {
	switch {
	case v == "" && required:
		return fmt.Errorf("missing %s", name)
	case len(v) > MaxIDLength:
		return fmt.Errorf("%s: too long (%d characters)", name, len(v))
	}
	return nil
}

// toMessage builds the normalised Message; the caller sets Direction and the
// contact. It fails when the message has no id or a field is out of range.
func (w *wireMessage) toMessage(origin string, position int) (Message, error) {
	var m Message
	if err := w.fill(&m, origin, position); err != nil {
		return Message{}, err
	}
	return m, nil
}

// fill is toMessage into a zero *m (in place: a chunk's messages are built
// where they are kept). On error m is left partly filled.
func (w *wireMessage) fill(m *Message, origin string, position int) error {
	if err := messageID("id", w.ID, true); err != nil {
		return err
	}
	m.WAMID, m.Type, m.Timestamp, m.Origin, m.Position = w.ID, internType(w.Type), w.Timestamp.n, origin, position
	var err error
	if m.From, err = phone("from", w.From); err != nil {
		return err
	}
	if m.FromUserID, err = userID("from_user_id", w.FromUserID); err != nil {
		return err
	}
	m.Status, m.FromMe = NormalizeStatus(w.HistoryContext.Status), w.HistoryContext.FromMe.b
	errs, err := convertErrors(w.Errors)
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		m.ErrorCode, m.ErrorTitle = errs[0].Code, errs[0].Title
		m.content().Errors = errs
	}
	if c := w.Context; c != nil {
		if err := messageID("context.id", c.ID, false); err != nil {
			return err
		}
		ctx := &MessageContext{QuotedWAMID: c.ID, Forwarded: c.Forwarded.b, FrequentlyForwarded: c.FrequentlyForwarded.b}
		if ctx.QuotedFrom, err = phone("context.from", c.From); err != nil {
			return err
		}
		if rp := c.ReferredProduct; rp != nil {
			ctx.ReferredProduct = &ReferredProduct{CatalogID: rp.CatalogID, ProductRetailerID: rp.ProductRetailerID}
		}
		if ctx.FrequentlyForwarded {
			ctx.Forwarded = true
		}
		if *ctx != (MessageContext{}) {
			m.content().Context = ctx
		}
	}
	if r := w.Referral; r != nil {
		ref := Referral(*r)
		if ref != (Referral{}) {
			m.content().Referral = &ref
		}
	}
	if err := m.fillContent(w); err != nil {
		return err
	}
	m.Text = RenderText(m)
	return nil
}

// content returns m.Content, allocated on first use.
func (m *Message) content() *Content {
	if m.Content == nil {
		m.Content = &Content{}
	}
	return m.Content
}

// internType returns the constant for common message types (knownType's) so that a
// chunk's thousands of messages share them.
func internType(t string) string {
	if k := knownType([]byte(t)); k != "" {
		return k
	}
	return t
}

// fillContent reads the content object named by the message type. Unknown
// types, and known types without their object, leave the content empty.
func (m *Message) fillContent(w *wireMessage) error {
	switch w.Type {
	case "text":
		m.Text = w.Text.Body
	case "image", "video", "document", "audio", "sticker":
		var media *wireMedia
		switch w.Type {
		case "image":
			media = w.Image
		case "video":
			media = w.Video
		case "document":
			media = w.Document
		case "audio":
			media = w.Audio
		case "sticker":
			media = w.Sticker
		}
		if media != nil {
			m.MediaID, m.MimeType = media.ID, media.MimeType
			if media.SHA256 != "" || media.Filename != "" || media.Caption != "" || media.Voice.b || media.Animated.b {
				c := m.content()
				c.MediaSHA256, c.Filename, c.Caption = media.SHA256, media.Filename, media.Caption
				c.Voice, c.Animated = media.Voice.b, media.Animated.b
			}
		}
	case "location":
		if l := w.Location; l != nil {
			c := m.content()
			c.Latitude, c.Longitude = l.Latitude.p, l.Longitude.p
			c.LocationName, c.LocationAddress, c.LocationURL = l.Name, l.Address, l.URL
		}
	case "reaction":
		if r := w.Reaction; r != nil {
			if err := messageID("reaction.message_id", r.MessageID, false); err != nil {
				return err
			}
			m.ReactionTo, m.ReactionEmoji = r.MessageID, r.Emoji
		}
	case "button":
		if b := w.Button; b != nil {
			m.content().Reply = &Reply{Type: "button", ID: b.Payload, Title: b.Text}
		}
	case "interactive":
		if i := w.Interactive; i != nil {
			switch {
			case i.ButtonReply != nil:
				m.content().Reply = &Reply{Type: "button_reply", ID: i.ButtonReply.ID, Title: i.ButtonReply.Title}
			case i.ListReply != nil:
				m.content().Reply = &Reply{Type: "list_reply", ID: i.ListReply.ID, Title: i.ListReply.Title, Description: i.ListReply.Description}
			case i.NFMReply != nil:
				m.content().Reply = &Reply{Type: "nfm_reply", ID: i.NFMReply.Name, Title: i.NFMReply.Body, ResponseJSON: i.NFMReply.ResponseJSON}
			}
		}
	case "contacts":
		if len(w.Contacts) > 0 {
			cards := make([]SharedContact, len(w.Contacts))
			for i, c := range w.Contacts {
				cards[i] = convertSharedContact(c)
			}
			m.content().Contacts = cards
		}
	case "order":
		if o := w.Order; o != nil {
			order := &Order{CatalogID: o.CatalogID, Text: o.Text}
			for _, it := range o.ProductItems {
				order.Items = append(order.Items, OrderItem{ProductRetailerID: it.ProductRetailerID,
					Quantity: it.Quantity.n, ItemPrice: it.ItemPrice.p, Currency: it.Currency})
			}
			m.content().Order = order
		}
	case "system":
		if s := w.System; s != nil {
			sys := &SystemChange{Type: s.Type, Body: s.Body, Customer: s.Customer}
			newWAID := s.NewWAID
			if newWAID == "" {
				newWAID = s.WAID
			}
			var err error
			if sys.NewWAID, err = phone("system.wa_id", newWAID); err != nil {
				return err
			}
			if sys.NewUserID, err = userID("system.user_id", s.UserID); err != nil {
				return err
			}
			m.content().System = sys
		}
	case "unsupported":
		if u := w.Unsupported; u != nil {
			m.content().Unsupported = u.Type
		}
	}
	return nil
}

func convertSharedContact(c wireSharedContact) SharedContact {
	sc := SharedContact{
		FormattedName: c.Name.FormattedName, FirstName: c.Name.FirstName, LastName: c.Name.LastName,
		Company: c.Org.Company, Department: c.Org.Department, Title: c.Org.Title, Birthday: c.Birthday,
	}
	for _, p := range c.Phones {
		sc.Phones = append(sc.Phones, ContactPhone{Phone: p.Phone, WAID: Digits(p.WAID), Type: p.Type})
	}
	for _, e := range c.Emails {
		sc.Emails = append(sc.Emails, ContactValue{Value: e.Email, Type: e.Type})
	}
	for _, u := range c.URLs {
		sc.URLs = append(sc.URLs, ContactValue{Value: u.URL, Type: u.Type})
	}
	for _, a := range c.Addresses {
		sc.Addresses = append(sc.Addresses, ContactAddress{Street: a.Street, City: a.City, State: a.State,
			Zip: a.Zip, Country: a.Country, CountryCode: a.CountryCode, Type: a.Type})
	}
	return sc
}

// errNoOriginal is returned for an edit or revoke that names no message.
var errNoOriginal = errors.New("missing original_message_id")

// toEdit reads an edit: the business's (echo) or the customer's (messages).
func (w *wireMessage) toEdit() (Edit, error) {
	if err := messageID("id", w.ID, true); err != nil {
		return Edit{}, err
	}
	if w.Edit == nil || w.Edit.OriginalMessageID == "" {
		return Edit{}, fmt.Errorf("edit: %w", errNoOriginal)
	}
	if err := messageID("edit.original_message_id", w.Edit.OriginalMessageID, true); err != nil {
		return Edit{}, err
	}
	e := Edit{WAMID: w.ID, OriginalWAMID: w.Edit.OriginalMessageID, Timestamp: w.Timestamp.n}
	if inner := w.Edit.Message; inner != nil {
		var m Message
		m.Type = inner.Type
		if err := m.fillContent(inner); err != nil {
			return Edit{}, fmt.Errorf("edit: message: %w", err)
		}
		e.NewText, e.NewType = RenderText(&m), inner.Type
	}
	return e, nil
}

// toRevoke reads a revoke: the business's (echo) or the customer's (messages).
func (w *wireMessage) toRevoke() (Revoke, error) {
	if err := messageID("id", w.ID, true); err != nil {
		return Revoke{}, err
	}
	if w.Revoke == nil || w.Revoke.OriginalMessageID == "" {
		return Revoke{}, fmt.Errorf("revoke: %w", errNoOriginal)
	}
	if err := messageID("revoke.original_message_id", w.Revoke.OriginalMessageID, true); err != nil {
		return Revoke{}, err
	}
	return Revoke{WAMID: w.ID, OriginalWAMID: w.Revoke.OriginalMessageID, Timestamp: w.Timestamp.n}, nil
}

func joinNonEmpty(sep string, parts ...string) string {
	n, last := 0, ""
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			n++
			last = p
		}
	}
	switch n {
	case 0:
		return ""
	case 1:
		return last
	}
	kept := make([]string, 0, n)
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, sep)
}
