package coex

import (
	"strconv"
	"strings"
)

// RenderText returns the readable rendering of a message's content that is
// kept as its text (so that search finds it):
//
//   - text: the body; image, video: the caption; document: file name and caption;
//   - sticker: "Sticker" (or "Animated sticker");
//   - location: name and address;
//   - reaction: the emoji;
//   - button, interactive: the title of the reply (and a list reply's description);
//   - contacts: one line per card with name, organisation, phones and e-mails;
//   - order: its text, then one line per item with quantity, product and price;
//   - system: the notice, with the new number when the notice does not give it;
//   - unsupported: the error's title and details.
//
// Other types have no text ("").
func RenderText(m *Message) string {
	c := m.Content
	if c == nil {
		if m.Type == "text" {
			return m.Text
		}
		c = &Content{}
	}
	switch m.Type {
	case "text":
		return m.Text
	case "image", "video", "audio":
		return strings.TrimSpace(c.Caption)
	case "document":
		return joinNonEmpty(" — ", c.Filename, c.Caption)
	case "sticker":
		if c.Animated {
			return "Animated sticker"
		}
		return "Sticker"
	case "location":
		return joinNonEmpty(" — ", c.LocationName, c.LocationAddress)
	case "reaction":
		return m.ReactionEmoji
	case "button", "interactive":
		if c.Reply == nil {
			return ""
		}
		return joinNonEmpty(" — ", c.Reply.Title, c.Reply.Description)
	case "contacts":
		lines := make([]string, 0, len(c.Contacts))
		for _, c := range c.Contacts {
			if line := contactLine(c); line != "" {
				lines = append(lines, line)
			}
		}
		return strings.Join(lines, "\n")
	case "order":
		if c.Order == nil {
			return ""
		}
		return orderText(c.Order)
	case "system":
		if c.System == nil {
			return ""
		}
		s := strings.TrimSpace(c.System.Body)
		if n := c.System.NewWAID; n != "" && !strings.Contains(Digits(s), n) {
			s = joinNonEmpty(" ", s, "New number: +"+n)
		}
		return s
	case "unsupported":
		if len(c.Errors) == 0 {
			return ""
		}
		e := c.Errors[0]
		text := joinNonEmpty(" — ", e.Title, e.Details)
		if e.Details == e.Title {
			text = strings.TrimSpace(e.Title)
		}
		return text
	}
	return ""
}

// contactLine renders a shared contact card on one line:
// "Ana Souza · Padaria Lu · +55 11 91234-5678 · ana@example.com".
func contactLine(c SharedContact) string {
	parts := []string{c.Name(), joinNonEmpty(", ", c.Company, c.Department, c.Title)}
	for _, p := range c.Phones {
		if p.Phone != "" {
			parts = append(parts, p.Phone)
		} else if p.WAID != "" {
			parts = append(parts, "+"+p.WAID)
		}
	}
	for _, e := range c.Emails {
		parts = append(parts, e.Value)
	}
	return joinNonEmpty(" · ", parts...)
}

// orderText renders an order: its text, then "2 × SKU — 45.9 BRL" per item.
func orderText(o *Order) string {
	lines := make([]string, 0, len(o.Items)+1)
	if t := strings.TrimSpace(o.Text); t != "" {
		lines = append(lines, t)
	}
	for _, it := range o.Items {
		line := strconv.FormatInt(it.Quantity, 10) + " × " + it.ProductRetailerID
		if it.ItemPrice != nil {
			line += " — " + joinNonEmpty(" ", strconv.FormatFloat(*it.ItemPrice, 'f', -1, 64), it.Currency)
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}
