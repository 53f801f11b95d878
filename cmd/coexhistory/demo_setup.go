package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"coexhistory/internal/registry"
	"coexhistory/internal/secrets"
	"coexhistory/internal/store"
	"coexhistory/models"
)

// demoSecrets are the secrets of one demo data directory. They are kept (0600) so that a
// restarted demo opens the access tokens it sealed before and accepts its own webhooks.
type demoSecrets struct {
	AppSecret    string `json:"app_secret"`
	VerifyToken  string `json:"verify_token"`
	SecretKeyHex string `json:"secret_key_hex"`
	PositusToken string `json:"positus_webhook_token"`
}

const demoSecretsFile = "demo-secrets.json"

// loadDemoSecrets reads the secrets of dir, creating them on the first start.
func loadDemoSecrets(dir string) (demoSecrets, error) {
	path := filepath.Join(dir, demoSecretsFile)
	var s demoSecrets
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &s); err != nil {
			return s, fmt.Errorf("read %s: %w (delete it to start the demo afresh)", path, err)
		}
		if len(s.AppSecret) < 16 || len(s.VerifyToken) < 16 || len(s.SecretKeyHex) != 64 || len(s.PositusToken) < 32 {
			return s, fmt.Errorf("read %s: incomplete (delete it and the database to start the demo afresh)", path)
		}
		return s, nil
	case !errors.Is(err, os.ErrNotExist):
		return s, fmt.Errorf("read demo secrets: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return s, fmt.Errorf("demo secret key: %w", err)
	}
	s = demoSecrets{
		AppSecret:    secrets.Token(24),
		VerifyToken:  secrets.Token(24),
		SecretKeyHex: hex.EncodeToString(key),
		PositusToken: secrets.Token(32),
	}
	b, err = json.MarshalIndent(s, "", "  ")
	if err != nil {
		return s, err
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return s, fmt.Errorf("write demo secrets: %w", err)
	}
	return s, nil
}

// env returns the configuration of the demo: these secrets, the SQLite file in dir, the
// simulator as Meta and Positus; other variables (COEX_SYNC_TIMEOUT, COEX_WORKERS, ...) come
// from getenv.
func (s demoSecrets) env(dir, addr, simURL string, getenv env) env {
	m := map[string]string{
		"COEX_ADDR":                  addr,
		"COEX_DATABASE_URL":          "sqlite:" + filepath.Join(dir, "coexhistory.db"),
		"COEX_APP_SECRET":            s.AppSecret,
		"COEX_VERIFY_TOKEN":          s.VerifyToken,
		"COEX_SECRET_KEY":            s.SecretKeyHex,
		"COEX_POSITUS_WEBHOOK_TOKEN": s.PositusToken,
		"COEX_GRAPH_BASE_URL":        simURL,
		"COEX_POSITUS_BASE_URL":      simURL,
		"COEX_SECURE_COOKIES":        "false",
	}
	return func(k string) string {
		if v, ok := m[k]; ok {
			return v
		}
		return getenv(k)
	}
}

// demoAdminEmail is the demo's admin account.
const demoAdminEmail = "admin@demo.coexhistory.local"

// demoAdmin creates the demo admin, or gives it a new password, and returns the password.
func demoAdmin(ctx context.Context, db *store.DB) (string, error) {
	password := secrets.Token(15) // 20 characters
	svc := authService(db)
	_, err := svc.ResetPassword(ctx, demoAdminEmail, password)
	if errors.Is(err, store.ErrNotFound) {
		_, err = svc.CreateUser(ctx, demoAdminEmail, password, models.RoleAdmin)
	}
	if err != nil {
		return "", fmt.Errorf("demo admin: %w", describe(err))
	}
	return password, nil
}

// demoNumber is a business number of the demo and of its simulator.
type demoNumber struct {
	Label, Display, PhoneNumberID, WABAID, Provider, PositusID string
}

// demoNumbers are the two numbers the demo seeds: one synced through Meta, one through Positus.
var demoNumbers = []demoNumber{
	{Label: "Loja Centro (demo, Meta)", Display: "5511987650000", PhoneNumberID: "623400011122233", WABAID: "810023456789012", Provider: models.ProviderMeta},
	{Label: "Loja Norte (demo, Positus)", Display: "5521987651111", PhoneNumberID: "623400099988877", WABAID: "810023456789013", Provider: models.ProviderPositus,
		PositusID: "2b0f6c1e-58a4-4b8e-9d55-3f1f7f2a9c01"},
}

// seedDemoNumbers registers the demo numbers, onboarded now. A number whose sync has not
// run yet is onboarded again (its 24 h window reopens) on every start; a synced one keeps
// its history and its state.
func seedDemoNumbers(ctx context.Context, db *store.DB, reg *registry.Service, now time.Time) error {
	actor := registry.Actor{Name: "demo"}
	for _, d := range demoNumbers {
		in := registry.Input{Label: d.Label, DisplayPhoneNumber: d.Display, PhoneNumberID: d.PhoneNumberID, WABAID: d.WABAID,
			Provider: d.Provider, ProviderNumberID: d.PositusID, OnboardedAt: now.UTC().Format(time.RFC3339)}
		n, err := db.NumberByPhoneNumberID(ctx, d.PhoneNumberID)
		if errors.Is(err, store.ErrNotFound) {
			in.AccessToken = "demo-token-" + secrets.Token(12)
			if _, err := reg.Create(ctx, actor, in); err != nil {
				return fmt.Errorf("seed %s: %w", d.Label, describe(err))
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("seed %s: %w", d.Label, err)
		}
		run, err := db.SyncRun(ctx, d.PhoneNumberID)
		if err == nil && run.State != models.SyncNotRequested {
			continue
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("seed %s: %w", d.Label, err)
		}
		if _, err := reg.Update(ctx, actor, n.ID, in); err != nil {
			return fmt.Errorf("re-onboard %s: %w", d.Label, describe(err))
		}
	}
	return nil
}
