package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"coexhistory/internal/apptest"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

// ptAgentEmail is an agent whose profile chose Brazilian Portuguese.
const ptAgentEmail = "atendente@example.com"

// langAgents signs in the English agent and an agent whose profile says pt-BR.
func langAgents(t *testing.T, app *apptest.App) (en, pt *apptest.Client) {
	t.Helper()
	return langUsers(t, app, models.RoleAgent, apptest.AgentEmail, ptAgentEmail)
}

// langUsers signs in the English user enEmail and a new user of the same role, ptEmail,
// whose profile says pt-BR; both browsers send no Accept-Language, so the language is the
// profile's.
func langUsers(t *testing.T, app *apptest.App, role, enEmail, ptEmail string) (en, pt *apptest.Client) {
	t.Helper()
	if _, err := app.Services.Auth.CreateUser(context.Background(), ptEmail, apptest.Password, role); err != nil {
		t.Fatal(err)
	}
	pt = app.Login(ptEmail)
	if res, body := pt.PostForm("/profile", url.Values{"language": {"pt-BR"}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("profile language = %d: %.300s", res.StatusCode, body)
	}
	return app.Login(enEmail), pt
}

// Weekdays and months as a pt-BR day separator names them.
var (
	ptWeekday = []string{"domingo", "segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado"}
	ptMonth   = []string{"janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro", "novembro", "dezembro"}
)

func ptDay(d time.Time) string {
	return fmt.Sprintf("%s, %d de %s de %d", ptWeekday[d.Weekday()], d.Day(), ptMonth[d.Month()-1], d.Year())
}

// pageText is a page's visible words in one line (spaces collapsed).
func pageText(s *goquery.Selection) string { return strings.Join(strings.Fields(s.Text()), " ") }

// wantTexts fails for each of want that the selection's text lacks, and each of banned it has.
func wantTexts(t *testing.T, where string, s *goquery.Selection, want, banned []string) {
	t.Helper()
	text := pageText(s)
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("%s: no %q in %q", where, w, text)
		}
	}
	for _, b := range banned {
		if strings.Contains(text, b) {
			t.Errorf("%s: English %q left in %q", where, b, text)
		}
	}
}

// get fetches path as c and parses the page.
func get(t *testing.T, c *apptest.Client, path string, header http.Header) *goquery.Document {
	t.Helper()
	res, body := c.Get(path, header)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d: %.300s", path, res.StatusCode, body)
	}
	return convDoc(t, body)
}

// TestThreadViewInPortuguese: an agent whose profile says pt-BR reads the thread view in
// Portuguese (loaders, day separators with pt-BR dates, bubble labels, message kinds); an
// English agent reads the same thread as before.
func TestThreadViewInPortuguese(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app, f := convApp(t, dialect)
			kinds := kindsThread(t, app)
			en, pt := langAgents(t, app)
			ana := fmt.Sprintf("/threads/%d", f.ana.ID)

			d := get(t, pt, ana, nil)
			if lang := d.Find("html").AttrOr("lang", ""); lang != "pt-BR" {
				t.Fatalf("page language %q", lang)
			}
			seps := d.Find(`[data-testid=day-separator]`)
			if got, want := pageText(seps.First()), ptDay(convDay); got != want {
				t.Fatalf("day separator %q, want %q", got, want)
			}
			wantTexts(t, "pt-BR thread", d.Find("main"),
				[]string{"com Doces da Vila", "9 mensagens", "horários em UTC", "Ir para", "Mensagens mais recentes ↓",
					"Início da conversa", "sábado, 20 de setembro de 2025", ptDay(convDay.AddDate(0, 0, 1)), "Mensagem mais recente",
					"Localização", "Abrir no OpenStreetMap", "editada", "apagada", "histórico", "ao vivo", "app do celular", "Entrega",
					"imagem · baixando… (id da mídia 9990001)", "mídia · mídia indisponível (nenhum id de mídia recebido ainda)"},
				[]string{"Start of the conversation", "Latest message", "Jump to", "edited", "deleted", "history", "phone app",
					"Location", "Delivery", "September", "Saturday", "times in", "downloading", "not available"})
			if title := d.Find(`[data-wamid="wamid.ana2"] [data-testid=reactions] span`).AttrOr("title", ""); title != "Reação do contato" {
				t.Fatalf("reaction title %q", title)
			}
			if title := d.Find(`[data-wamid="wamid.ana2"] [data-testid=ticks]`).AttrOr("title", ""); title != "Lida" {
				t.Fatalf("ticks title %q", title)
			}

			// English: the same thread as it always read.
			d = get(t, en, ana, nil)
			if got, want := pageText(d.Find(`[data-testid=day-separator]`).First()), convDay.Format("Monday, 2 January 2006"); got != want {
				t.Fatalf("English day separator %q, want %q", got, want)
			}
			wantTexts(t, "English thread", d.Find("main"),
				[]string{"with Doces da Vila", "9 messages", "times in UTC", "Jump to", "Latest messages ↓", "Start of the conversation",
					"Saturday, 20 September 2025", "Latest message", "edited", "deleted", "history", "phone app", "Delivery"},
				[]string{"Mensagem mais recente", "editada", "de setembro de"})

			// A long thread: the loaders.
			d = get(t, pt, fmt.Sprintf("/threads/%d?at=wamid.carla100", f.carla.ID), nil)
			if got := pageText(d.Find(`[data-testid=load-older]`)); got != "Carregar mensagens anteriores" {
				t.Fatalf("older loader %q", got)
			}
			if got := pageText(d.Find(`[data-testid=load-newer]`)); got != "Carregar mensagens mais recentes" {
				t.Fatalf("newer loader %q", got)
			}
			older := d.Find(`[data-testid=load-older]`).AttrOr("hx-get", "")
			frag := get(t, pt, older, apptest.HX())
			wantTexts(t, "pt-BR older page", frag.Selection, []string{"Carregar mensagens anteriores", "de outubro de 2025"}, []string{"Load older", "October"})
			d = get(t, en, fmt.Sprintf("/threads/%d?at=wamid.carla100", f.carla.ID), nil)
			if got := pageText(d.Find(`[data-testid=load-older]`)); got != "Load older messages" {
				t.Fatalf("English older loader %q", got)
			}
			if got := pageText(d.Find(`[data-testid=load-newer]`)); got != "Load newer messages" {
				t.Fatalf("English newer loader %q", got)
			}

			// A message opened that is not in the thread: the notice.
			d = get(t, pt, ana+"?at=wamid.nope", nil)
			if got := pageText(d.Find(`[data-testid=thread-notice]`)); !strings.HasPrefix(got, "A mensagem que você abriu não está (mais) nesta conversa.") {
				t.Fatalf("notice %q", got)
			}

			// Message kinds: the labels the thread view adds, and a reaction listed on its own.
			path := fmt.Sprintf("/threads/%d", kinds.ID)
			d = get(t, pt, path, nil)
			wantTexts(t, "pt-BR kinds", d.Find("main"),
				[]string{"O contato reagiu a uma mensagem que não está no arquivo", "Encaminhada com frequência", "De um anúncio",
					"Resposta a uma mensagem que não está no arquivo", "Pedido", "Total", "Cliente", "Tocou em um botão"},
				[]string{"reacted to a message", "Forwarded", "From an ad", "Reply to a message", "Order", "Customer", "Tapped a button"})
			d = get(t, en, path, nil)
			wantTexts(t, "English kinds", d.Find("main"),
				[]string{"The contact reacted to a message that is not in the archive", "Forwarded many times", "From an ad",
					"Reply to a message not in the archive", "Order", "Customer", "Tapped a button"}, nil)
		})
	}
}

// TestTimelineInPortuguese: the delivery timeline a pt-BR agent opens from a bubble speaks
// Portuguese, the notes of the events service included; the English one is unchanged.
func TestTimelineInPortuguese(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app, _ := timelineApp(t, dialect)
			en, pt := langAgents(t, app)
			pq := "phone_number_id=" + tlPNID
			d := get(t, pt, timelinePath(tlWAMID, pq), apptest.HX())
			wantTexts(t, "pt-BR timeline", d.Selection,
				[]string{"Entrega", "Lida", "Todos", "Atualizar", "Enviada", "Entregue", "via API de eventos da Meta", "Webhook de status entregue", "Última consulta à Meta"},
				[]string{"Delivered", "Refresh", "Status webhook", "Last asked", "via Meta events API"})
			if label := d.Find(`[data-testid=timeline]`).AttrOr("aria-label", ""); label != "Linha do tempo da entrega" {
				t.Fatalf("timeline label %q", label)
			}
			d = get(t, pt, timelinePath("wamid.inbound1", pq), apptest.HX())
			if got := pageText(d.Find(`[data-testid=timeline-note]`)); got != "Status de entrega existem só para mensagens que a empresa enviou." {
				t.Fatalf("pt-BR note %q", got)
			}
			// An error the fragment shows instead (htmx puts it in a toast).
			res, body := pt.Get(timelinePath("wamid.nope", pq), apptest.HX())
			if res.StatusCode != http.StatusNotFound {
				t.Fatalf("unknown message = %d", res.StatusCode)
			}
			if got := pageText(convDoc(t, body).Find(`[data-testid=error]`)); !strings.HasPrefix(got, "Esta mensagem não está no arquivo. Referência: ") {
				t.Fatalf("pt-BR error fragment %q", got)
			}
			_, body = en.Get(timelinePath("wamid.nope", pq), apptest.HX())
			if got := pageText(convDoc(t, body).Find(`[data-testid=error]`)); !strings.HasPrefix(got, "This message is not in the archive. Reference: ") {
				t.Fatalf("English error fragment %q", got)
			}
			// The words app.js shows by itself (toasts), on the page for it.
			page := get(t, pt, "/search", nil)
			if got := page.Find("html").AttrOr("data-copied", ""); got != "Copiado para a área de transferência." {
				t.Fatalf("pt-BR copy toast %q", got)
			}
			if got := page.Find("nav").AttrOr("aria-label", ""); got != "Principal" {
				t.Fatalf("pt-BR navigation label %q", got)
			}
			page = get(t, en, "/search", nil)
			if got := page.Find("html").AttrOr("data-copied", ""); got != "Copied to the clipboard." {
				t.Fatalf("English copy toast %q", got)
			}

			d = get(t, en, timelinePath(tlWAMID, pq), apptest.HX())
			wantTexts(t, "English timeline", d.Selection,
				[]string{"Delivery", "Read", "All", "Refresh", "Delivered", "via Meta events API", "Status webhook delivered", "Last asked Meta"}, nil)
			d = get(t, en, timelinePath("wamid.inbound1", pq), apptest.HX())
			if got := pageText(d.Find(`[data-testid=timeline-note]`)); got != "Delivery statuses exist only for messages the business sent." {
				t.Fatalf("English note %q", got)
			}
		})
	}
}

// TestSearchAndThreadListInPortuguese: the search page (form, filters, results, counts,
// empty states, errors) and a number's thread list read in Portuguese for a pt-BR agent and
// as before for an English one.
func TestSearchAndThreadListInPortuguese(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			app, f := convApp(t, dialect)
			en, pt := langAgents(t, app)

			// The empty search page: the form, its filters and hints.
			d := get(t, pt, "/search", nil)
			wantTexts(t, "pt-BR search", d.Find("main"),
				[]string{"Buscar mensagens", "Buscar", "As palavras encontram palavras inteiras", `"frase exata"`, "não existe OR: para achar",
					"Número", "Todos os números", "Contato", "Direção", "Ambas as direções", "Recebidas (entrada)", "Qualquer tipo",
					"Com mídia (qualquer tipo)", "Figurinha", "Qualquer status", "Entregue", "Sincronização do histórico", "Mais recentes primeiro",
					"Busque em todas as conversas de todos os números.", "Exemplos:"},
				[]string{"Search messages", "Words find", "Every word", "Both directions", "Any type", "Any status", "Newest first", "Examples:"})
			if ph := d.Find(`#f-q`).AttrOr("placeholder", ""); ph != "Buscar no texto e nas legendas das mensagens" {
				t.Fatalf("search placeholder %q", ph)
			}
			if title := d.Find("title").Text(); !strings.HasPrefix(title, "Busca") {
				t.Fatalf("page title %q", title)
			}
			d = get(t, en, "/search", nil)
			wantTexts(t, "English search", d.Find("main"),
				[]string{"Search messages", "Words find whole words, without minding accents or case.", "Every word must appear; there is no OR: to find either word",
					"All numbers", "Both directions", "Received (inbound)", "Any type", "Has media (any kind)", "Any status", "Delivered", "History sync",
					"Newest first", "Search every conversation of every number."}, nil)

			// Results: the count, badges in words, a received message's type.
			d = get(t, pt, "/search?q=bolo", nil)
			if got := pageText(d.Find(`[data-testid=search-count]`)); got != "3 mensagens correspondem." {
				t.Fatalf("pt-BR count %q", got)
			}
			wantTexts(t, "pt-BR results", d.Find(`[data-testid=search-results]`), []string{"recebida", "histórico", "ao vivo", "imagem"},
				[]string{"received", "history", "live"})
			d = get(t, en, "/search?q=bolo", nil)
			if got := pageText(d.Find(`[data-testid=search-count]`)); got != "3 messages match." {
				t.Fatalf("English count %q", got)
			}
			wantTexts(t, "English results", d.Find(`[data-testid=search-results]`), []string{"received", "history", "live", "image"}, nil)
			d = get(t, pt, "/search?q="+url.QueryEscape("Pedido #4471"), nil)
			if got := pageText(d.Find(`[data-testid=search-count]`)); got != "1 mensagem corresponde." {
				t.Fatalf("pt-BR count of one %q", got)
			}
			wantTexts(t, "pt-BR outbound result", d.Find(`[data-testid=search-results]`), []string{"enviada", "Enviada"}, []string{"sent", "Sent"})

			// Many matches: "Load more" and the count asked for on its own.
			d = get(t, pt, "/search?q=encomenda", nil)
			if got := pageText(d.Find(`[data-testid=search-load-more]`)); got != "Carregar mais" {
				t.Fatalf("load more %q", got)
			}
			if got := pageText(d.Find(`[data-testid=search-count]`)); got != "Contando as correspondências…" {
				t.Fatalf("counting %q", got)
			}
			d = get(t, pt, "/search?q=encomenda&count=1", apptest.HX())
			if got := pageText(d.Find(`[data-testid=search-count]`)); got != "450 mensagens correspondem." {
				t.Fatalf("pt-BR counted %q", got)
			}

			// No result, and a request the search refuses.
			d = get(t, pt, "/search?q=zzzqqq", nil)
			wantTexts(t, "pt-BR no results", d.Find(`[data-testid=search-no-results]`),
				[]string{"Nenhuma mensagem corresponde.", "Nada encontrado para zzzqqq com estes filtros.", "Tente menos palavras, o começo de uma palavra com *, ou limpe alguns filtros."},
				[]string{"No messages", "Nothing found", "Try fewer"})
			res, body := pt.Get("/search?from=2025-10-10&to=2025-01-01", nil)
			if res.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("dates out of order = %d", res.StatusCode)
			}
			if got := pageText(convDoc(t, body).Find(`[data-testid=search-error]`)); got != "A data final é anterior à data inicial." {
				t.Fatalf("pt-BR error %q", got)
			}
			_, body = en.Get("/search?from=2025-10-10&to=2025-01-01", nil)
			if got := pageText(convDoc(t, body).Find(`[data-testid=search-error]`)); got != "The end date is before the start date." {
				t.Fatalf("English error %q", got)
			}

			// The number's thread list.
			list := fmt.Sprintf("/numbers/%d/threads", f.numberID)
			d = get(t, pt, list, nil)
			wantTexts(t, "pt-BR thread list", d.Find("main"),
				[]string{"Conversas", "atividade mais recente primeiro.", "Contato", "Filtrar", "Mensagens", "Última mensagem", "Primeira mensagem", "Ana Souza"},
				[]string{"Conversations", "most recent activity", "Filter", "Last message", "First message"})
			if ph := d.Find(`#f-contact`).AttrOr("placeholder", ""); ph != "Nome ou número de telefone" {
				t.Fatalf("contact placeholder %q", ph)
			}
			d = get(t, pt, list+"?contact=zzz", nil)
			if got := pageText(d.Find(`[data-testid=threads-empty]`)); got != "Nenhuma conversa com um contato que corresponda a zzz." {
				t.Fatalf("pt-BR no match %q", got)
			}
			d = get(t, en, list, nil)
			wantTexts(t, "English thread list", d.Find("main"),
				[]string{"Conversations", "most recent activity first.", "Contact", "Filter", "Messages", "Last message", "First message"}, nil)
			d = get(t, en, list+"?contact=zzz", nil)
			if got := pageText(d.Find(`[data-testid=threads-empty]`)); got != "No conversation with a contact matching zzz." {
				t.Fatalf("English no match %q", got)
			}
		})
	}
}

// TestMediaLinesInPortuguese: the media of the thread view (a document card, a voice note,
// failed and expired downloads) in Portuguese for a pt-BR agent; English unchanged.
func TestMediaLinesInPortuguese(t *testing.T) {
	eachDialect(t, func(t *testing.T, dialect string) {
		app := mediaApp(t, dialect, medFiles())
		en, pt := langAgents(t, app)
		threads, err := app.DB.ListThreads(context.Background(), store.ThreadFilter{PhoneNumberID: medPNID, Limit: 10})
		if err != nil || len(threads.Threads) == 0 {
			t.Fatalf("threads: %v", err)
		}
		path := fmt.Sprintf("/threads/%d", threads.Threads[0].ID)
		media := func(d *goquery.Document, wamid string) string {
			return pageText(d.Find(`[data-wamid="` + wamid + `"] [data-testid=media]`))
		}
		d := get(t, pt, path, nil)
		for wamid, want := range map[string]string{
			"wamid.doc":  "Baixar",
			"wamid.ogg":  "Baixar a mensagem de voz",
			"wamid.fail": "vídeo · falha ao baixar:",
			"wamid.exp":  "imagem · expirada: o WhatsApp não tem mais este arquivo",
		} {
			if got := media(d, wamid); !strings.Contains(got, want) {
				t.Errorf("pt-BR %s: %q, want %q", wamid, got, want)
			}
		}
		d = get(t, en, path, nil)
		for wamid, want := range map[string]string{
			"wamid.doc":  "Download",
			"wamid.ogg":  "Download the voice note",
			"wamid.fail": "video · download failed:",
			"wamid.exp":  "image · expired: WhatsApp no longer has this file",
		} {
			if got := media(d, wamid); !strings.Contains(got, want) {
				t.Errorf("English %s: %q, want %q", wamid, got, want)
			}
		}
	})
}
