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
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

// ptAdminEmail is an admin whose profile chose Brazilian Portuguese.
const ptAdminEmail = "gerente@example.com"

// langAdmins signs in the English admin and an admin whose profile says pt-BR.
func langAdmins(t *testing.T, app *apptest.App) (en, pt *apptest.Client) {
	t.Helper()
	return langUsers(t, app, models.RoleAdmin, apptest.AdminEmail, ptAdminEmail)
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

// TestAdminPagesInPortuguese: a pt-BR admin reads the inbox (a failed webhook, its raw
// JSON page, the reprocess toast), health, the audit log, users and tokens (with an
// account action's notice), the account page and its errors, and the full error page in
// Portuguese; the English admin reads them as before, and the audit log keeps English.
func TestAdminPagesInPortuguese(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			s := newSyncApp(t, dialect)
			en, pt := langAdmins(t, s.App)
			bad := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"history","value":{"metadata":{"phone_number_id":"623400011122233"},"history":[{"metadata":{"phase":1,"chunk_order":"x","progress":5},"threads":[]}]}}]}]}`)
			if status, _ := postWebhook(t, s.App, "/webhooks/whatsapp", bad, signed(bad)); status != http.StatusOK {
				t.Fatalf("post = %d", status)
			}
			if _, err := s.Services.Ingest.Drain(context.Background()); err != nil {
				t.Fatal(err)
			}

			d := get(t, pt, "/admin/inbox", nil)
			wantTexts(t, "pt-BR inbox", d.Find("main"),
				[]string{"Caixa de entrada de webhooks", "número desconhecido", "recusado", "pendente", "falhou", "Estado", "Campo", "Filtrar", "Recebido em", "Tamanho", "JSON bruto", "Reprocessar"},
				[]string{"Webhook inbox", "unknown_number", "refused", "pending", "failed", "Raw JSON", "Received", "Filter"})
			id := d.Find(`[data-testid="inbox-row"][data-state="failed"] td`).First().Text()
			wantTexts(t, "pt-BR webhook", get(t, pt, "/admin/inbox/"+id, nil).Find("main"),
				[]string{"Webhook nº " + id, "Voltar para a caixa de entrada", "falhou"}, []string{"Back to the inbox"})
			res, _ := pt.PostForm("/admin/inbox/"+id+"/reprocess", nil, apptest.HX())
			if _, msg := flashOf(t, res); msg != "Webhook na fila para reprocessar." {
				t.Fatalf("reprocess toast %q", msg)
			}
			if _, err := s.Services.Ingest.Drain(context.Background()); err != nil { // failed again: a row to reprocess
				t.Fatal(err)
			}
			res, _ = en.PostForm("/admin/inbox/"+id+"/reprocess", nil, apptest.HX())
			if _, msg := flashOf(t, res); msg != "Webhook queued for reprocessing." {
				t.Fatalf("English reprocess toast %q", msg)
			}

			wantTexts(t, "pt-BR health", get(t, pt, "/admin/health", nil).Find("main"),
				[]string{"Saúde", "num relance", "Último webhook", "Aguardando", "Não sincronizado"},
				[]string{"at a glance", "Last webhook", "Waiting", "Not synced"})
			d = get(t, pt, "/admin/audit", nil)
			wantTexts(t, "pt-BR audit", d.Find("main"),
				[]string{"Registro de auditoria", "Todas as ações", "Quando", "Quem", "Alvo", "Detalhe", "number.create", `label="Loja Aberta"`},
				[]string{"Audit log", "All actions", "Who did what"})

			d = get(t, pt, "/admin/users", nil)
			wantTexts(t, "pt-BR users", d.Find("main"),
				[]string{"Usuários e tokens de API", "Contas da equipe", "administrador", "atendente", "você", "Última entrada:", "nunca", "Gerenciar",
					"Alterar função", "Redefinir senha", "Desativar", "Adicionar conta", "Pelo menos 12 caracteres.", "Novo token", "Criar token"},
				[]string{"Staff accounts", "Last sign-in", "never", "Manage", "Change role", "Add account", "New token", "Create token"})
			agent := d.Find(`[data-testid="user-row"][data-email="`+apptest.AgentEmail+`"]`).AttrOr("id", "")
			res, body := pt.PostForm("/admin/users/"+strings.TrimPrefix(agent, "user-")+"/disable", nil, apptest.HX())
			if res.StatusCode != http.StatusOK {
				t.Fatalf("disable = %d", res.StatusCode)
			}
			if got := pageText(convDoc(t, body).Find(`[data-testid="users-notice"]`)); got != "A conta "+apptest.AgentEmail+" foi desativada: desconectada de todos os aparelhos, tokens de API revogados." {
				t.Fatalf("disable notice %q", got)
			}
			self := strings.TrimPrefix(d.Find(`[data-testid="user-row"][data-email="`+ptAdminEmail+`"]`).AttrOr("id", ""), "user-")
			res, body = pt.SendForm(http.MethodDelete, "/admin/users/"+self, nil, apptest.HX())
			if res.StatusCode != http.StatusConflict || !strings.Contains(body, "Você não pode excluir a sua própria conta.") {
				t.Fatalf("deleting one's own account = %d: %.300s", res.StatusCode, body)
			}
			res, body = en.PostForm("/admin/users/"+strings.TrimPrefix(agent, "user-")+"/enable", nil, apptest.HX())
			if got := pageText(convDoc(t, body).Find(`[data-testid="users-notice"]`)); got != apptest.AgentEmail+" can sign in again." {
				t.Fatalf("English enable notice %q", got)
			}
			res, body = pt.PostForm("/admin/users", url.Values{"email": {"x"}, "password": {"curta"}, "role": {"agent"}}, apptest.HX())
			wantTexts(t, "pt-BR user form errors", convDoc(t, body).Selection,
				[]string{"Corrija os campos destacados.", "Informe um endereço de e-mail válido", "Use pelo menos 12 caracteres."},
				[]string{"Please correct", "Enter a valid", "Use at least"})

			d = get(t, pt, "/account", nil)
			wantTexts(t, "pt-BR account", d.Find("main"),
				[]string{"Senha e sessões", "Conectado como " + ptAdminEmail, "Senha atual", "Nova senha", "Repita a nova senha", "Alterar senha", "Sair de todos os aparelhos"},
				[]string{"Password and sessions", "Signed in", "Current password", "Change password", "Sign out everywhere"})
			res, body = pt.PostForm("/account/password", url.Values{"current": {"errada"}, "new": {"curta"}, "confirm": {"outra"}}, apptest.HX())
			wantTexts(t, "pt-BR password errors", convDoc(t, body).Selection,
				[]string{"Esta não é a sua senha atual.", "Use pelo menos 12 caracteres.", "As duas novas senhas são diferentes."},
				[]string{"This is not", "Use at least", "differ"})

			res, body = pt.Get("/numbers/999999", nil)
			if res.StatusCode != http.StatusNotFound {
				t.Fatalf("missing number = %d", res.StatusCode)
			}
			d = convDoc(t, body)
			wantTexts(t, "pt-BR error page", d.Find("main"), []string{"Não encontrado", "Este número não existe (mais).", "Voltar para os números"},
				[]string{"Not Found", "Back to the numbers"})
			if title := d.Find("title").Text(); title != "Não encontrado · coexhistory" {
				t.Fatalf("error page title %q", title)
			}

			// English: the same pages as before.
			wantTexts(t, "English inbox", get(t, en, "/admin/inbox", nil).Find("main"),
				[]string{"Webhook inbox", "unknown_number", "refused", "pending", "Raw JSON", "Received"}, []string{"Caixa", "pendente"})
			wantTexts(t, "English health", get(t, en, "/admin/health", nil).Find("main"),
				[]string{"Health", "Every number's history sync and webhooks at a glance.", "Last webhook"}, []string{"Saúde"})
			wantTexts(t, "English audit", get(t, en, "/admin/audit", nil).Find("main"),
				[]string{"Audit log", "All actions", "Target", "user.disable", "ended 0 sessions, revoked 0 tokens", "user.enable"}, []string{"Registro"})
			wantTexts(t, "English users", get(t, en, "/admin/users", nil).Find("main"),
				[]string{"Users & API tokens", "Staff accounts", "Last sign-in:", "Change role", "Add account", "Create token", "Agent (reads and searches)"},
				[]string{"Usuários", "atendente"})
			wantTexts(t, "English account", get(t, en, "/account", nil).Find("main"),
				[]string{"Password and sessions", "Signed in as " + apptest.AdminEmail + ".", "Current password", "Change password"}, []string{"Senha"})
			_, body = en.Get("/numbers/999999", nil)
			wantTexts(t, "English error page", convDoc(t, body).Find("main"), []string{"Not Found", "This number does not exist (any more).", "Back to the numbers"}, []string{"Voltar"})

			// The audit log keeps English.
			entries, err := s.DB.ListAudit(context.Background(), store.AuditFilter{Action: "user.disable"})
			if err != nil || len(entries) != 1 || entries[0].Target != apptest.AgentEmail {
				t.Fatalf("audit %+v %v", entries, err)
			}
		})
	}
}
