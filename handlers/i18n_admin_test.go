package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"coexhistory/internal/apptest"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

// ptAdminEmail is an admin whose profile chose Brazilian Portuguese.
const ptAdminEmail = "gerente@example.com"

// langAdmins signs in the English admin and an admin whose profile says pt-BR.
func langAdmins(t *testing.T, app *apptest.App) (en, pt *apptest.Client) {
	t.Helper()
	if _, err := app.Services.Auth.CreateUser(context.Background(), ptAdminEmail, apptest.Password, models.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	pt = app.Login(ptAdminEmail)
	if res, body := pt.PostForm("/profile", url.Values{"language": {"pt-BR"}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("profile language = %d: %.300s", res.StatusCode, body)
	}
	return app.Login(apptest.AdminEmail), pt
}

// TestNumbersAndSyncInPortuguese: a pt-BR admin reads the numbers registry, its form and
// field errors, a number's page with its sync panel and chunk ledger, and the toasts of
// adding a number and pressing Sync in Portuguese; the English admin reads them as before,
// and the API keeps the syncer's English.
func TestNumbersAndSyncInPortuguese(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			s := newSyncApp(t, dialect)
			en, pt := langAdmins(t, s.App)
			open, closed := fmt.Sprintf("/numbers/%d", s.open.ID), fmt.Sprintf("/numbers/%d", s.closed.ID)

			d := get(t, pt, "/", nil)
			wantTexts(t, "pt-BR numbers", d.Find("main"),
				[]string{"Números comerciais", "Sincronização do histórico", "Última atividade", "Não sincronizado", "Sincronizar", "Editar", "Remover",
					"O prazo de 24 h após a integração terminou; a empresa precisa fazer a integração de novo.",
					"Adicionar número", "Identificação do número de telefone", "Token de acesso", "Armazenado com criptografia"},
				[]string{"Business numbers", "History sync", "Not synced", "Add number", "Access token", "window", "Stored encrypted"})
			if c := d.Find(`[data-testid="sync-button"]:not([disabled])`).AttrOr("hx-confirm", ""); c != "Pedir a sincronização do histórico agora? A Meta permite isso só uma vez para este número, em até 24 h após a integração." {
				t.Fatalf("sync confirm %q", c)
			}
			if title := d.Find("title").Text(); title != "Números · coexhistory" {
				t.Fatalf("title %q", title)
			}

			// The form's errors, then a number added: its toast.
			res, body := pt.PostForm("/numbers", url.Values{"label": {""}, "provider": {"positus"}}, apptest.HX())
			if res.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("bad form = %d", res.StatusCode)
			}
			wantTexts(t, "pt-BR form errors", convDoc(t, body).Selection,
				[]string{"Corrija os campos destacados.", "Dê um nome ao número (até 120 caracteres).", "A Positus precisa da identificação dela para o número"},
				[]string{"Please correct", "Give the number", "Positus needs"})
			form := url.Values{"label": {"Loja Nova"}, "display_phone_number": {"5511900000000"}, "phone_number_id": {"623400011199999"},
				"waba_id": {"810023456789012"}, "provider": {"meta"}, "access_token": {"EAAG-test"}}
			res, _ = pt.PostForm("/numbers", form, apptest.HX())
			if kind, msg := flashOf(t, res); kind != "success" || msg != "Número Loja Nova adicionado." {
				t.Fatalf("added toast %s %q", kind, msg)
			}

			// Sync refused from the table, then requested from the panel.
			h := apptest.HX()
			h.Set("HX-Target", "numbers-table")
			res, _ = pt.PostForm(closed+"/sync", nil, h)
			if kind, msg := flashOf(t, res); kind != "warning" || msg != "O prazo de 24 h após a integração terminou; a empresa precisa fazer a integração de novo." {
				t.Fatalf("refused toast %s %q", kind, msg)
			}
			h = apptest.HX()
			h.Set("HX-Target", "sync-panel")
			res, body = pt.PostForm(open+"/sync", nil, h)
			if kind, msg := flashOf(t, res); kind != "success" || msg != "Sincronização pedida: o histórico chega por webhook nos próximos minutos." {
				t.Fatalf("requested toast %s %q", kind, msg)
			}
			wantTexts(t, "pt-BR requested panel", convDoc(t, body).Selection,
				[]string{"Sincronização do histórico", "Pedida", "Prazo de 24 h: usado", "do histórico recebido", "tempo restante", "Fase 0 · último dia", "nada ainda", "Nenhum bloco recebido ainda."},
				[]string{"Requested", "window", "nothing yet", "Phase", "No chunks"})

			t0 := time.Now().UTC().Add(-10 * time.Second).Truncate(time.Second)
			addChunk(t, s.DB, s.open.PhoneNumberID, 2, 1, 20, 100, t0)
			addChunk(t, s.DB, s.open.PhoneNumberID, 2, 3, 40, 100, t0.Add(5*time.Second))
			d = get(t, pt, open, nil)
			wantTexts(t, "pt-BR number page", d.Find("main"),
				[]string{"← Números", "identificação do número", "Integrado em", "Mídia armazenada", "Editar número", "Recebendo 40 %",
					"recebendo 40 % · 2 blocos · 200 mensagens", "Blocos faltando: fase 2: 2", "Primeiro bloco", "request_id do histórico",
					"Registro de blocos", "Recebido em", "Histórico armazenado", "pesquisar nelas"},
				[]string{"Numbers", "Onboarded", "Receiving", "receiving", "chunks", "Missing", "Chunk ledger", "Stored history", "search them", "Media stored"})
			res, body = pt.Get(open+"/sync?was=requested&view=badge", apptest.HX())
			wantTexts(t, "pt-BR badge", convDoc(t, body).Selection, []string{"Recebendo 40 %"}, []string{"Receiving"})

			// English: the same pages as before.
			d = get(t, en, "/", nil)
			wantTexts(t, "English numbers", d.Find("main"),
				[]string{"Business numbers", "History sync", "Last activity", "Not synced", "Receiving 40 %", "Edit", "Remove", "Add a number", "Access token",
					"The 24 h window after onboarding has closed; the business must onboard again."},
				[]string{"Números", "Sincronizar", "Recebendo"})
			d = get(t, en, open, nil)
			wantTexts(t, "English number page", d.Find("main"),
				[]string{"← Numbers", "Onboarded at", "Media stored", "Receiving 40 %", "receiving 40 % · 2 chunks · 200 messages", "Missing chunks: phase 2: 2",
					"Chunk ledger", "History request_id", "Stored history", "search them"},
				[]string{"Recebendo", "Registro de blocos", "blocos"})
			h = apptest.HX()
			h.Set("HX-Target", "numbers-table")
			res, _ = en.PostForm(closed+"/sync", nil, h)
			if kind, msg := flashOf(t, res); kind != "warning" || msg != "The 24 h window after onboarding has closed; the business must onboard again." {
				t.Fatalf("English refused toast %s %q", kind, msg)
			}
			// The API keeps the syncer's English.
			if res, body := s.API(http.MethodGet, "/api/v1/numbers/"+s.closed.PhoneNumberID+"/sync", s.Token(models.RoleAgent), nil); res.StatusCode != http.StatusOK ||
				!strings.Contains(body, `"The 24 h window after onboarding has closed; the business must onboard again."`) {
				t.Fatalf("API sync status = %d: %.400s", res.StatusCode, body)
			}
			res, _ = en.SendForm(http.MethodDelete, fmt.Sprintf("/numbers/%d", s.closed.ID), nil, apptest.HX())
			if _, msg := flashOf(t, res); msg != "Number removed." {
				t.Fatalf("English removed toast %q", msg)
			}
			res, _ = pt.SendForm(http.MethodDelete, fmt.Sprintf("/numbers/%d", s.open.ID), nil, apptest.HX())
			if _, msg := flashOf(t, res); msg != "Número removido." {
				t.Fatalf("pt-BR removed toast %q", msg)
			}
		})
	}
}
