package handlers

import (
	"context"
	"errors"
	"math"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"coexhistory/internal/coex"
	"coexhistory/internal/i18n"
	"coexhistory/internal/store"
	"coexhistory/models"
	"coexhistory/views/components"
	"coexhistory/views/pages"
)

// quoteLength is how much of a quoted message's text a reply shows.
const quoteLength = 120

// contentOf re-reads a stored message's structured content from its raw JSON (nil when
// the message has none or the JSON is not a message object).
func contentOf(m store.ThreadMessage) *coex.Content {
	if m.Raw == "" || m.Raw == "{}" {
		return nil
	}
	msg, err := coex.DecodeMessage([]byte(m.Raw))
	if err != nil {
		return nil
	}
	return msg.Content
}

// quotedMessage is what a reply shows of the message it quotes.
type quotedMessage struct {
	ThreadID  uint64 // 0: the thread shown
	ID        uint64
	Direction string
	Text      string
	Type      string
}

// kindsViewOf shapes the kind-specific parts of a message for the thread view, in the
// language of rc's viewer; nil when it has none. threadURL is the thread shown; quoted
// finds a quoted message in the archive (ok false when it is not).
func kindsViewOf(rc context.Context, threadURL string, content *coex.Content, quoted func(wamid string) (quotedMessage, bool)) *components.KindsView {
	if content == nil {
		return nil
	}
	v := &components.KindsView{}
	if mc := content.Context; mc != nil {
		v.Forwarded, v.FrequentlyForwarded = mc.Forwarded, mc.FrequentlyForwarded
		if mc.QuotedWAMID != "" {
			q := &components.QuoteView{WAMID: mc.QuotedWAMID}
			if qm, ok := quoted(mc.QuotedWAMID); ok {
				q.Known = true
				q.Text = shorten(qm.Text, quoteLength)
				if q.Text == "" {
					q.Text = i18n.T(rc, "kinds.typeMessage", map[string]any{"Type": pages.TypeLabel(rc, qm.Type)})
				}
				q.Label = i18n.T(rc, "kinds.customer")
				if qm.Direction == models.DirectionOutbound {
					q.Label = i18n.T(rc, "kinds.business")
				}
				base := threadURL
				if qm.ThreadID != 0 {
					base = "/threads/" + strconv.FormatUint(qm.ThreadID, 10)
				}
				q.URL = base + "?" + url.Values{"at": {mc.QuotedWAMID}}.Encode() + "#hit"
			}
			v.Quote = q
		}
	}
	if r := content.Referral; r != nil {
		ref := &components.ReferralView{Headline: r.Headline, Body: r.Body}
		ref.Source = strings.TrimSpace(strings.Join(nonEmpty(r.SourceType, r.SourceID), " · "))
		if ref.Source == "" {
			ref.Source = r.SourceURL // shown as text, never a link
		}
		v.Referral = ref
	}
	for _, c := range content.Contacts {
		card := components.ContactCardView{Name: c.Name(), Org: strings.Join(nonEmpty(c.Company, c.Department, c.Title), " · ")}
		if card.Name == "" {
			card.Name = i18n.T(rc, "kinds.contactCard")
		}
		for _, p := range c.Phones {
			ph := p.Phone
			if ph == "" && p.WAID != "" {
				ph = "+" + p.WAID
			}
			if ph != "" {
				card.Phones = append(card.Phones, strings.Join(nonEmpty(ph, strings.ToLower(p.Type)), " · "))
			}
		}
		for _, e := range c.Emails {
			if e.Value != "" {
				card.Emails = append(card.Emails, e.Value)
			}
		}
		v.Contacts = append(v.Contacts, card)
	}
	if o := content.Order; o != nil {
		v.Order = orderView(o)
	}
	if s := content.System; s != nil {
		v.System = s.Body
		if v.System == "" && s.NewWAID != "" {
			v.System = i18n.T(rc, "kinds.changedNumber", map[string]any{"WAID": s.NewWAID})
		}
		if v.System == "" {
			v.System = i18n.T(rc, "kinds.system")
		}
	}
	if r := content.Reply; r != nil {
		switch r.Type {
		case "button_reply", "button":
			v.Reply = i18n.T(rc, "kinds.tappedButton")
		case "list_reply":
			v.Reply = i18n.T(rc, "kinds.choseFromList")
		case "nfm_reply":
			v.Reply = i18n.T(rc, "kinds.sentForm")
		}
	}
	if !v.Forwarded && v.Quote == nil && v.Referral == nil && !v.HasContent() && v.Reply == "" {
		return nil
	}
	return v
}

// orderView sums an order per line; the total only when every line has a price in one currency.
func orderView(o *coex.Order) *components.OrderView {
	v := &components.OrderView{Text: o.Text}
	var total float64
	currency, summable := "", len(o.Items) > 0
	for _, it := range o.Items {
		line := components.OrderItemView{Product: it.ProductRetailerID, Quantity: strconv.FormatInt(it.Quantity, 10)}
		if it.ItemPrice != nil && !math.IsNaN(*it.ItemPrice) && !math.IsInf(*it.ItemPrice, 0) {
			line.Price = money(*it.ItemPrice, it.Currency)
			total += *it.ItemPrice * float64(it.Quantity)
		} else {
			summable = false
		}
		if currency == "" {
			currency = it.Currency
		} else if it.Currency != currency {
			summable = false
		}
		v.Items = append(v.Items, line)
	}
	if summable {
		v.Total = money(total, currency)
	}
	return v
}

func money(amount float64, currency string) string {
	return strings.TrimSpace(strconv.FormatFloat(amount, 'f', 2, 64) + " " + currency)
}

func nonEmpty(parts ...string) []string {
	out := parts[:0:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// shorten clips s to n characters with an ellipsis.
func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// mapURL is an OpenStreetMap link to a place, built from the coordinates only (never a
// URL from the payload); "" when they are out of range.
func mapURL(lat, lng float64) string {
	if math.IsNaN(lat) || math.IsNaN(lng) || lat < -90 || lat > 90 || lng < -180 || lng > 180 {
		return ""
	}
	la, lo := strconv.FormatFloat(lat, 'f', -1, 64), strconv.FormatFloat(lng, 'f', -1, 64)
	return "https://www.openstreetmap.org/?mlat=" + la + "&mlon=" + lo + "#map=16/" + la + "/" + lo
}

// quotedLookup finds quoted messages on the page first, then in the archive (by number).
func (h *Handlers) quotedLookup(c echo.Context, pnid string, page []store.ThreadMessage) func(string) (quotedMessage, bool) {
	onPage := make(map[string]quotedMessage, len(page))
	for _, m := range page {
		onPage[m.WAMID] = quotedMessage{ID: m.ID, Direction: m.Direction, Text: m.Text, Type: m.Type}
	}
	return func(wamid string) (quotedMessage, bool) {
		if q, ok := onPage[wamid]; ok {
			return q, true
		}
		m, err := h.deps.Threads.MessageByWAMID(ctx(c), pnid, wamid)
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				h.deps.Logger.Warn("quoted message not read", "err", err)
			}
			return quotedMessage{}, false
		}
		q := quotedMessage{ThreadID: m.ThreadID, ID: m.ID, Direction: m.Direction, Text: m.Text, Type: m.Type}
		onPage[wamid] = q
		return q, true
	}
}
