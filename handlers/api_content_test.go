package handlers_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

// The API gives each kind's content as WhatsApp sent it, not only its text: shared contact
// cards, an order's items, a number change, a button answer, the quoted message, forwarding
// and the ad a conversation came from.
func TestAPIMessageContentPerKind(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app, _ := convApp(t, dialect)
			th := kindsThread(t, app)
			res, body := app.API(http.MethodGet, "/api/v1/threads/"+itoa(th.ID)+"/messages?limit=100", app.Token(models.RoleAgent), nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("messages API = %d %s", res.StatusCode, body)
			}
			var page struct {
				Data []struct {
					WAMID   string `json:"wamid"`
					Content *struct {
						Contacts []struct {
							FormattedName string `json:"formatted_name"`
							Company       string `json:"company"`
							Phones        []struct {
								Phone string `json:"phone"`
								WAID  string `json:"wa_id"`
								Type  string `json:"type"`
							} `json:"phones"`
						} `json:"contacts"`
						Order *struct {
							CatalogID string `json:"catalog_id"`
							Items     []struct {
								ProductRetailerID string   `json:"product_retailer_id"`
								Quantity          int64    `json:"quantity"`
								ItemPrice         *float64 `json:"item_price"`
							} `json:"product_items"`
						} `json:"order"`
						System *struct {
							Type    string `json:"type"`
							NewWAID string `json:"new_wa_id"`
						} `json:"system"`
						Reply *struct {
							Type, ID, Title string
						} `json:"reply"`
						Context *struct {
							QuotedWAMID         string `json:"quoted_wamid"`
							Forwarded           bool   `json:"forwarded"`
							FrequentlyForwarded bool   `json:"frequently_forwarded"`
						} `json:"context"`
						Referral *struct {
							SourceURL string `json:"source_url"`
							Headline  string `json:"headline"`
						} `json:"referral"`
						Location *struct {
							Latitude *float64 `json:"latitude"`
						} `json:"location"`
					} `json:"content"`
				} `json:"data"`
			}
			if err := json.Unmarshal([]byte(body), &page); err != nil {
				t.Fatal(err)
			}
			by := map[string]int{}
			for i, m := range page.Data {
				by[m.WAMID] = i
			}
			content := func(wamid string) bool {
				i, ok := by[wamid]
				return ok && page.Data[i].Content != nil
			}
			for _, w := range []string{"wamid.kc", "wamid.ko", "wamid.ks", "wamid.kr", "wamid.kf", "wamid.ka", "wamid.kb", "wamid.kl"} {
				if !content(w) {
					t.Fatalf("%s has no content: %s", w, body)
				}
			}
			if content("wamid.k1") {
				t.Errorf("a plain text message has content: %+v", page.Data[by["wamid.k1"]].Content)
			}
			c := page.Data[by["wamid.kc"]].Content.Contacts
			if len(c) != 1 || c[0].FormattedName != "Maria <script>alert(1)</script>Silva" || c[0].Company != "Padaria Sol" ||
				len(c[0].Phones) != 1 || c[0].Phones[0].WAID != "5511933332222" {
				t.Errorf("contact card %+v", c)
			}
			o := page.Data[by["wamid.ko"]].Content.Order
			if o == nil || o.CatalogID != "123" || len(o.Items) != 2 || o.Items[1].Quantity != 10 || o.Items[1].ItemPrice == nil || *o.Items[1].ItemPrice != 2.5 {
				t.Errorf("order %+v", o)
			}
			if s := page.Data[by["wamid.ks"]].Content.System; s == nil || s.Type != "user_changed_number" || s.NewWAID != "5511955550000" {
				t.Errorf("system %+v", s)
			}
			if x := page.Data[by["wamid.kr"]].Content.Context; x == nil || x.QuotedWAMID != "wamid.k1" {
				t.Errorf("reply context %+v", x)
			}
			if x := page.Data[by["wamid.kf"]].Content.Context; x == nil || !x.Forwarded || !x.FrequentlyForwarded {
				t.Errorf("forwarded %+v", x)
			}
			if r := page.Data[by["wamid.ka"]].Content.Referral; r == nil || r.Headline != "Bolos de festa" || r.SourceURL != "javascript:alert(1)" {
				t.Errorf("referral %+v (the API gives the URL as data; pages never link it)", r)
			}
			if r := page.Data[by["wamid.kb"]].Content.Reply; r == nil || r.Type != "button_reply" || r.ID != "pickup" || r.Title != "Retirar na loja" {
				t.Errorf("button reply %+v", r)
			}
			if l := page.Data[by["wamid.kl"]].Content.Location; l == nil || l.Latitude == nil || *l.Latitude != -23.561684 {
				t.Errorf("location %+v", l)
			}
		})
	}
}
