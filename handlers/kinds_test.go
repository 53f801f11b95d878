package handlers_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"coexhistory/internal/apptest"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

const kindsWAID = "5511955554444"

// kindsThread adds Diego's conversation: one message of every kind the thread view draws.
func kindsThread(t *testing.T, app *apptest.App) models.Thread {
	t.Helper()
	in := func(wamid, typ, text, raw string, clock string) convMsg {
		return convMsg{wamid: wamid, direction: "inbound", typ: typ, text: text, raw: raw, status: "read", origin: "live", ts: convTS(0, clock)}
	}
	msgs := []convMsg{
		in("wamid.k1", "text", "Quero encomendar um bolo de cenoura", `{"from":"5511955554444","id":"wamid.k1","type":"text","text":{"body":"Quero encomendar um bolo de cenoura"}}`, "8h"),
		in("wamid.kc", "contacts", "Maria <b>Silva</b> · Padaria Sol · +55 11 93333-2222 · maria@padaria.example",
			`{"from":"5511955554444","id":"wamid.kc","type":"contacts","contacts":[{"name":{"formatted_name":"Maria <script>alert(1)</script>Silva","first_name":"Maria"},"org":{"company":"Padaria Sol","title":"Gerente"},"phones":[{"phone":"+55 11 93333-2222","wa_id":"5511933332222","type":"CELL"}],"emails":[{"email":"maria@padaria.example","type":"WORK"}]}]}`, "8h1m"),
		in("wamid.ko", "order", "Para sábado", `{"from":"5511955554444","id":"wamid.ko","type":"order","order":{"catalog_id":"123","text":"Para sábado","product_items":[{"product_retailer_id":"bolo-cenoura","quantity":2,"item_price":45.9,"currency":"BRL"},{"product_retailer_id":"brigadeiro","quantity":"10","item_price":"2.5","currency":"BRL"}]}}`, "8h2m"),
		in("wamid.ks", "system", "Diego changed their phone number to a new number", `{"from":"5511955554444","id":"wamid.ks","type":"system","system":{"body":"Diego changed their phone number to a new number","new_wa_id":"5511955550000","type":"user_changed_number"}}`, "8h3m"),
		in("wamid.kr", "text", "Pode ser com cobertura?", `{"from":"5511955554444","id":"wamid.kr","type":"text","context":{"from":"5511955554444","id":"wamid.k1"},"text":{"body":"Pode ser com cobertura?"}}`, "8h4m"),
		in("wamid.kq", "text", "E aquele outro?", `{"from":"5511955554444","id":"wamid.kq","type":"text","context":{"from":"5511987650000","id":"wamid.gone"},"text":{"body":"E aquele outro?"}}`, "8h5m"),
		in("wamid.ke", "text", "Olha isso", `{"from":"5511955554444","id":"wamid.ke","type":"text","context":{"from":"5511955554444","id":"wamid.ana1"},"text":{"body":"Olha isso"}}`, "8h5m30s"),
		in("wamid.kf", "text", "Promoção de bolos!", `{"from":"5511955554444","id":"wamid.kf","type":"text","context":{"forwarded":true,"frequently_forwarded":true},"text":{"body":"Promoção de bolos!"}}`, "8h6m"),
		in("wamid.ka", "text", "Vi o anúncio", `{"from":"5511955554444","id":"wamid.ka","type":"text","referral":{"source_url":"javascript:alert(1)","source_type":"ad","source_id":"1202080","headline":"Bolos de festa","body":"Peça já o seu"},"text":{"body":"Vi o anúncio"}}`, "8h7m"),
		in("wamid.kb", "interactive", "Retirar na loja", `{"from":"5511955554444","id":"wamid.kb","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"pickup","title":"Retirar na loja"}}}`, "8h8m"),
		{wamid: "wamid.kl", direction: "outbound", typ: "location", text: "Doces da Vila — Av. Paulista, 1000", status: "delivered", origin: "echo", ts: convTS(0, "8h9m"),
			raw: `{"from":"5511987650000","id":"wamid.kl","type":"location","location":{"latitude":-23.561684,"longitude":-46.655981,"name":"Doces da Vila","address":"Av. Paulista, 1000","url":"javascript:alert(1)"}}`},
		// A reaction to a message the archive does not hold: an item of its own.
		{wamid: "wamid.kx", direction: "inbound", typ: "reaction", text: "🎂", reactionTo: "wamid.HBgNNTUxMTk1NTU1NDQ0NBUCABIYFk5PVFNUT1JFRAA=", status: "read", origin: "live", ts: convTS(0, "8h10m"),
			raw: `{"from":"5511955554444","id":"wamid.kx","type":"reaction","reaction":{"message_id":"wamid.HBgNNTUxMTk1NTU1NDQ0NBUCABIYFk5PVFNUT1JFRAA=","emoji":"🎂"}}`},
	}
	return convThread(t, app.DB, convPNID, kindsWAID, "Diego Ramos", msgs)
}

func TestThreadViewMessageKinds(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app, f := convApp(t, dialect)
			th := kindsThread(t, app)
			agent := app.Login(apptest.AgentEmail)
			res, body := agent.Get(fmt.Sprintf("/threads/%d", th.ID), nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET thread = %d: %.300s", res.StatusCode, body)
			}
			if strings.Contains(body, "<script>alert") || strings.Contains(body, `href="javascript`) {
				t.Fatal("payload content is not escaped")
			}
			d := convDoc(t, body)
			bubble := func(wamid string) *goquery.Selection {
				s := d.Find(`[data-testid=bubble][data-wamid="` + wamid + `"]`)
				if s.Length() != 1 {
					t.Fatalf("bubble %s: %d", wamid, s.Length())
				}
				return s
			}
			text := func(s *goquery.Selection) string { return strings.TrimSpace(s.Text()) }

			// Contact card: name (escaped), organisation, phone, e-mail; no plain text line.
			card := bubble("wamid.kc").Find(`[data-testid=contact-card]`)
			if card.Length() != 1 || text(card.Find(`[data-testid=card-name]`)) != "Maria <script>alert(1)</script>Silva" ||
				text(card.Find(`[data-testid=card-org]`)) != "Padaria Sol · Gerente" ||
				text(card.Find(`[data-testid=card-phone]`)) != "+55 11 93333-2222 · cell" ||
				text(card.Find(`[data-testid=card-email]`)) != "maria@padaria.example" {
				t.Fatalf("contact card %q", card.Text())
			}
			if bubble("wamid.kc").Find(`[data-testid=bubble-text]`).Length() != 0 {
				t.Fatal("contact card also shown as text")
			}

			// Order: items with quantity and price, total.
			order := bubble("wamid.ko").Find(`[data-testid=order]`)
			var items []string
			order.Find(`[data-testid=order-item]`).Each(func(_ int, s *goquery.Selection) {
				items = append(items, text(s.Find(`[data-testid=order-qty]`))+" "+text(s.Find(`[data-testid=order-product]`))+" "+text(s.Find(`[data-testid=order-price]`)))
			})
			if strings.Join(items, " | ") != "2 × bolo-cenoura 45.90 BRL | 10 × brigadeiro 2.50 BRL" {
				t.Fatalf("order items %q", items)
			}
			if text(order.Find(`[data-testid=order-total]`)) != "116.80 BRL" || text(order.Find(`[data-testid=order-text]`)) != "Para sábado" {
				t.Fatalf("order %q", order.Text())
			}

			// System line: centered, its body.
			sys := bubble("wamid.ks")
			if !sys.HasClass("is-system") || text(sys.Find(`[data-testid=system-line]`)) != "Diego changed their phone number to a new number" {
				t.Fatalf("system line %q", sys.Text())
			}

			// Location: the map link built from the coordinates, never the payload's url.
			if href, _ := bubble("wamid.kl").Find(`[data-testid=map-link]`).Attr("href"); href != "https://www.openstreetmap.org/?mlat=-23.561684&mlon=-46.655981#map=16/-23.561684/-46.655981" {
				t.Fatalf("map link %q", href)
			}

			// A reply: the quoted message above it, a link to it in the thread.
			q := bubble("wamid.kr").Find(`[data-testid=quote]`)
			href, _ := q.Attr("href")
			if href != fmt.Sprintf("/threads/%d?at=wamid.k1#hit", th.ID) || text(q.Find(`[data-testid=quote-text]`)) != "Quero encomendar um bolo de cenoura" ||
				!strings.Contains(q.Text(), "Customer") {
				t.Fatalf("quote %q → %q", q.Text(), href)
			}
			if text(bubble("wamid.kr").Find(`[data-testid=bubble-text]`)) != "Pode ser com cobertura?" {
				t.Fatal("reply text missing")
			}
			// Quoting a message of the archive not on this page: linked where it is.
			q = bubble("wamid.ke").Find(`[data-testid=quote]`)
			if href, _ := q.Attr("href"); href != fmt.Sprintf("/threads/%d?at=wamid.ana1#hit", f.ana.ID) {
				t.Fatalf("quote of another page %q", href)
			}
			// Quoting a message that is not in the archive.
			q = bubble("wamid.kq").Find(`[data-testid=quote]`)
			if _, linked := q.Attr("href"); linked || text(q) != "Reply to a message not in the archive" {
				t.Fatalf("missing quote %q", q.Text())
			}

			// Forwarded label.
			if got := text(bubble("wamid.kf").Find(`[data-testid=forwarded]`)); got != "Forwarded many times" {
				t.Fatalf("forwarded %q", got)
			}
			if bubble("wamid.k1").Find(`[data-testid=forwarded]`).Length() != 0 {
				t.Fatal("plain text labelled forwarded")
			}

			// The ad the conversation started from: headline and source, the url never a link.
			ref := bubble("wamid.ka").Find(`[data-testid=referral]`)
			if text(ref.Find(`[data-testid=referral-headline]`)) != "Bolos de festa" || text(ref.Find(`[data-testid=referral-source]`)) != "ad · 1202080" ||
				ref.Find(`a`).Length() != 0 {
				t.Fatalf("referral %q", ref.Text())
			}

			// A button reply: labelled, its title as the text.
			b := bubble("wamid.kb")
			if text(b.Find(`[data-testid=reply-label]`)) != "Tapped a button" || text(b.Find(`[data-testid=bubble-text]`)) != "Retirar na loja" {
				t.Fatalf("button reply %q", b.Text())
			}

			// The jump target of the quote opens with the quoted message highlighted.
			res, body = agent.Get(fmt.Sprintf("/threads/%d?at=wamid.k1", th.ID), nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET ?at= = %d", res.StatusCode)
			}
			if id, _ := convDoc(t, body).Find(`[data-wamid="wamid.k1"]`).Attr("id"); id != "hit" {
				t.Fatalf("quoted message not highlighted: id %q", id)
			}
		})
	}
}
