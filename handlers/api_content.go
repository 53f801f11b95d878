package handlers

import (
	"coexhistory/internal/coex"
	"coexhistory/internal/store"
)

// contentJSON is what a message carries besides its text, as WhatsApp sent it (decoded from
// the message as received): a media caption and file name, a location, shared contact
// cards, an order, a number change, a button or list answer, the quoted message, the ad it
// came from, and errors. Omitted ("content": absent) when the message carries nothing more.
type contentJSON struct {
	Caption     string              `json:"caption,omitempty"`
	Filename    string              `json:"filename,omitempty"`
	Voice       bool                `json:"voice,omitempty"`
	Animated    bool                `json:"animated,omitempty"`
	Location    *locationJSON       `json:"location,omitempty"`
	Contacts    []sharedContactJSON `json:"contacts,omitempty"`
	Order       *orderJSON          `json:"order,omitempty"`
	System      *systemJSON         `json:"system,omitempty"`
	Reply       *replyJSON          `json:"reply,omitempty"`
	Context     *contextJSON        `json:"context,omitempty"`
	Referral    *referralJSON       `json:"referral,omitempty"`
	Errors      []messageErrorJSON  `json:"errors,omitempty"`
	Unsupported string              `json:"unsupported,omitempty"` // the type WhatsApp did not support
}

type locationJSON struct {
	Latitude  *float64 `json:"latitude"`
	Longitude *float64 `json:"longitude"`
	Name      string   `json:"name,omitempty"`
	Address   string   `json:"address,omitempty"`
	URL       string   `json:"url,omitempty"`
}

type sharedContactJSON struct {
	FormattedName string             `json:"formatted_name,omitempty"`
	FirstName     string             `json:"first_name,omitempty"`
	LastName      string             `json:"last_name,omitempty"`
	Company       string             `json:"company,omitempty"`
	Department    string             `json:"department,omitempty"`
	Title         string             `json:"title,omitempty"`
	Birthday      string             `json:"birthday,omitempty"`
	Phones        []contactPhoneJSON `json:"phones,omitempty"`
	Emails        []contactValueJSON `json:"emails,omitempty"`
	URLs          []contactValueJSON `json:"urls,omitempty"`
	Addresses     []addressJSON      `json:"addresses,omitempty"`
}

type contactPhoneJSON struct {
	Phone string `json:"phone"`
	WAID  string `json:"wa_id,omitempty"`
	Type  string `json:"type,omitempty"`
}

type contactValueJSON struct {
	Value string `json:"value"`
	Type  string `json:"type,omitempty"`
}

type addressJSON struct {
	Street      string `json:"street,omitempty"`
	City        string `json:"city,omitempty"`
	State       string `json:"state,omitempty"`
	Zip         string `json:"zip,omitempty"`
	Country     string `json:"country,omitempty"`
	CountryCode string `json:"country_code,omitempty"`
	Type        string `json:"type,omitempty"`
}

type orderJSON struct {
	CatalogID string          `json:"catalog_id,omitempty"`
	Text      string          `json:"text,omitempty"`
	Items     []orderItemJSON `json:"product_items"`
}

type orderItemJSON struct {
	ProductRetailerID string   `json:"product_retailer_id"`
	Quantity          int64    `json:"quantity"`
	ItemPrice         *float64 `json:"item_price"`
	Currency          string   `json:"currency,omitempty"`
}

type systemJSON struct {
	Type      string `json:"type,omitempty"`
	Body      string `json:"body,omitempty"`
	NewWAID   string `json:"new_wa_id,omitempty"`
	NewUserID string `json:"new_user_id,omitempty"`
}

type replyJSON struct {
	Type         string `json:"type"`
	ID           string `json:"id,omitempty"`
	Title        string `json:"title,omitempty"`
	Description  string `json:"description,omitempty"`
	ResponseJSON string `json:"response_json,omitempty"`
}

type contextJSON struct {
	QuotedWAMID         string               `json:"quoted_wamid,omitempty"`
	QuotedFrom          string               `json:"quoted_from,omitempty"`
	Forwarded           bool                 `json:"forwarded,omitempty"`
	FrequentlyForwarded bool                 `json:"frequently_forwarded,omitempty"`
	ReferredProduct     *referredProductJSON `json:"referred_product,omitempty"`
}

type referredProductJSON struct {
	CatalogID         string `json:"catalog_id,omitempty"`
	ProductRetailerID string `json:"product_retailer_id,omitempty"`
}

type referralJSON struct {
	SourceURL    string `json:"source_url,omitempty"`
	SourceType   string `json:"source_type,omitempty"`
	SourceID     string `json:"source_id,omitempty"`
	Headline     string `json:"headline,omitempty"`
	Body         string `json:"body,omitempty"`
	MediaType    string `json:"media_type,omitempty"`
	ImageURL     string `json:"image_url,omitempty"`
	VideoURL     string `json:"video_url,omitempty"`
	ThumbnailURL string `json:"thumbnail_url,omitempty"`
	CTWAClid     string `json:"ctwa_clid,omitempty"`
}

type messageErrorJSON struct {
	Code    int    `json:"code"`
	Title   string `json:"title,omitempty"`
	Message string `json:"message,omitempty"`
	Details string `json:"details,omitempty"`
}

// contentJSONOf is the API's content of a stored message, nil when it carries nothing
// besides its text.
func contentJSONOf(m store.ThreadMessage) *contentJSON {
	c := contentOf(m)
	if c == nil {
		return nil
	}
	out := contentJSON{Caption: c.Caption, Filename: c.Filename, Voice: c.Voice, Animated: c.Animated, Unsupported: c.Unsupported}
	if c.Latitude != nil || c.Longitude != nil || c.LocationName != "" || c.LocationAddress != "" {
		out.Location = &locationJSON{Latitude: c.Latitude, Longitude: c.Longitude, Name: c.LocationName, Address: c.LocationAddress, URL: c.LocationURL}
	}
	for _, sc := range c.Contacts {
		out.Contacts = append(out.Contacts, sharedContactJSONOf(sc))
	}
	if o := c.Order; o != nil {
		oj := &orderJSON{CatalogID: o.CatalogID, Text: o.Text, Items: make([]orderItemJSON, 0, len(o.Items))}
		for _, it := range o.Items {
			oj.Items = append(oj.Items, orderItemJSON{ProductRetailerID: it.ProductRetailerID, Quantity: it.Quantity, ItemPrice: it.ItemPrice, Currency: it.Currency})
		}
		out.Order = oj
	}
	if s := c.System; s != nil {
		out.System = &systemJSON{Type: s.Type, Body: s.Body, NewWAID: s.NewWAID, NewUserID: s.NewUserID}
	}
	if r := c.Reply; r != nil {
		out.Reply = &replyJSON{Type: r.Type, ID: r.ID, Title: r.Title, Description: r.Description, ResponseJSON: r.ResponseJSON}
	}
	if x := c.Context; x != nil {
		cj := &contextJSON{QuotedWAMID: x.QuotedWAMID, QuotedFrom: x.QuotedFrom, Forwarded: x.Forwarded, FrequentlyForwarded: x.FrequentlyForwarded}
		if p := x.ReferredProduct; p != nil {
			cj.ReferredProduct = &referredProductJSON{CatalogID: p.CatalogID, ProductRetailerID: p.ProductRetailerID}
		}
		out.Context = cj
	}
	if r := c.Referral; r != nil {
		out.Referral = &referralJSON{SourceURL: r.SourceURL, SourceType: r.SourceType, SourceID: r.SourceID, Headline: r.Headline, Body: r.Body,
			MediaType: r.MediaType, ImageURL: r.ImageURL, VideoURL: r.VideoURL, ThumbnailURL: r.ThumbnailURL, CTWAClid: r.CTWAClid}
	}
	for _, e := range c.Errors {
		out.Errors = append(out.Errors, messageErrorJSON{Code: e.Code, Title: e.Title, Message: e.Message, Details: e.Details})
	}
	if out.empty() {
		return nil
	}
	return &out
}

func (c contentJSON) empty() bool {
	return c.Caption == "" && c.Filename == "" && !c.Voice && !c.Animated && c.Location == nil && len(c.Contacts) == 0 &&
		c.Order == nil && c.System == nil && c.Reply == nil && c.Context == nil && c.Referral == nil && len(c.Errors) == 0 && c.Unsupported == ""
}

func sharedContactJSONOf(sc coex.SharedContact) sharedContactJSON {
	out := sharedContactJSON{FormattedName: sc.FormattedName, FirstName: sc.FirstName, LastName: sc.LastName, Company: sc.Company,
		Department: sc.Department, Title: sc.Title, Birthday: sc.Birthday}
	for _, p := range sc.Phones {
		out.Phones = append(out.Phones, contactPhoneJSON{Phone: p.Phone, WAID: p.WAID, Type: p.Type})
	}
	for _, e := range sc.Emails {
		out.Emails = append(out.Emails, contactValueJSON{Value: e.Value, Type: e.Type})
	}
	for _, u := range sc.URLs {
		out.URLs = append(out.URLs, contactValueJSON{Value: u.Value, Type: u.Type})
	}
	for _, a := range sc.Addresses {
		out.Addresses = append(out.Addresses, addressJSON{Street: a.Street, City: a.City, State: a.State, Zip: a.Zip,
			Country: a.Country, CountryCode: a.CountryCode, Type: a.Type})
	}
	return out
}
