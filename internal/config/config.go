// Package config reads coexhistory's settings from the environment. Every missing or
// invalid value fails with one line naming the variable.
package config

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"coexhistory/internal/proxies"
	"coexhistory/internal/store"
)

// Config is the whole runtime configuration.
type Config struct {
	Addr                string           // COEX_ADDR, default 127.0.0.1:8080
	DatabaseURL         string           // COEX_DATABASE_URL, default sqlite:data/coexhistory.db
	AppSecret           string           // COEX_APP_SECRET: Meta app secret, verifies X-Hub-Signature-256
	VerifyToken         string           // COEX_VERIFY_TOKEN: webhook verification handshake
	SecretKey           []byte           // COEX_SECRET_KEY: 32 bytes (hex or base64) sealing access tokens
	GraphBaseURL        string           // COEX_GRAPH_BASE_URL, default https://graph.facebook.com
	GraphAPIVersion     string           // COEX_GRAPH_API_VERSION, default v25.0
	PositusBaseURL      string           // COEX_POSITUS_BASE_URL, default https://api.positus.global
	PositusWebhookToken string           // COEX_POSITUS_WEBHOOK_TOKEN: per-install secret for forwarded webhooks
	SyncTimeout         time.Duration    // COEX_SYNC_TIMEOUT, default 24h
	EventsCacheTTL      time.Duration    // COEX_EVENTS_CACHE_TTL, default 60s
	SecureCookies       bool             // COEX_SECURE_COOKIES, default true unless the address is loopback
	Workers             int              // COEX_WORKERS, default 2
	WebhookMemory       int64            // COEX_WEBHOOK_MEMORY_MB in bytes: webhook bodies read at once, default 32 MiB
	InboxRetention      time.Duration    // COEX_INBOX_RETENTION: bodies of applied webhooks are kept this long, default 30 days (720h)
	MetricsToken        string           // COEX_METRICS_TOKEN: bearer token of /metrics; unset, the main listener has no /metrics
	MetricsAddr         string           // COEX_METRICS_ADDR: a separate listener serving only /metrics
	Media               MediaConfig      // COEX_MEDIA_*
	InstanceID          string           // COEX_INSTANCE_ID: stable name of this instance (its inbox claims); default the hostname
	TrustedProxies      *proxies.Trusted // COEX_TRUSTED_PROXIES: CIDRs whose X-Forwarded-For/-Proto are believed
}

// Error names the variable that is wrong.
type Error struct {
	Var    string
	Reason string
}

func (e *Error) Error() string { return e.Var + ": " + e.Reason }

// Load reads the configuration through getenv. required lists the secrets this command
// needs (serve needs all of them; migrate needs none).
func Load(getenv func(string) string, requireSecrets bool) (Config, error) {
	c := Config{
		Addr:            or(getenv("COEX_ADDR"), "127.0.0.1:8080"),
		DatabaseURL:     or(getenv("COEX_DATABASE_URL"), "sqlite:data/coexhistory.db"),
		AppSecret:       getenv("COEX_APP_SECRET"),
		VerifyToken:     getenv("COEX_VERIFY_TOKEN"),
		GraphBaseURL:    strings.TrimRight(or(getenv("COEX_GRAPH_BASE_URL"), "https://graph.facebook.com"), "/"),
		GraphAPIVersion: or(getenv("COEX_GRAPH_API_VERSION"), "v25.0"),
		PositusBaseURL:  strings.TrimRight(or(getenv("COEX_POSITUS_BASE_URL"), "https://api.positus.global"), "/"),
		Workers:         2,
		WebhookMemory:   32 << 20,
	}
	c.PositusWebhookToken = getenv("COEX_POSITUS_WEBHOOK_TOKEN")
	c.InstanceID = getenv("COEX_INSTANCE_ID")
	c.MetricsToken = getenv("COEX_METRICS_TOKEN")
	c.MetricsAddr = getenv("COEX_METRICS_ADDR")
	if c.MetricsToken != "" && len(c.MetricsToken) < 16 {
		return c, &Error{"COEX_METRICS_TOKEN", "must be at least 16 random characters (or unset)"}
	}
	if _, _, err := store.ParseURL(c.DatabaseURL); err != nil {
		return c, &Error{"COEX_DATABASE_URL", err.Error()}
	}
	for _, u := range []struct{ name, val string }{
		{"COEX_GRAPH_BASE_URL", c.GraphBaseURL},
		{"COEX_POSITUS_BASE_URL", c.PositusBaseURL},
	} {
		p, err := url.Parse(u.val)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return c, &Error{u.name, "must be an http(s) URL"}
		}
	}
	if !validVersion(c.GraphAPIVersion) {
		return c, &Error{"COEX_GRAPH_API_VERSION", `must look like "v25.0"`}
	}
	var err error
	if c.SyncTimeout, err = duration(getenv, "COEX_SYNC_TIMEOUT", 24*time.Hour); err != nil {
		return c, err
	}
	if c.EventsCacheTTL, err = duration(getenv, "COEX_EVENTS_CACHE_TTL", 60*time.Second); err != nil {
		return c, err
	}
	if c.InboxRetention, err = duration(getenv, "COEX_INBOX_RETENTION", 30*24*time.Hour); err != nil {
		return c, err
	}
	if v := getenv("COEX_WORKERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 64 {
			return c, &Error{"COEX_WORKERS", "must be a number from 1 to 64"}
		}
		c.Workers = n
	}
	if v := getenv("COEX_WEBHOOK_MEMORY_MB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 6 || n > 4096 {
			return c, &Error{"COEX_WEBHOOK_MEMORY_MB", "must be a number of MiB from 6 to 4096"}
		}
		c.WebhookMemory = int64(n) << 20
	}
	if c.Media, err = loadMedia(getenv, c.DatabaseURL); err != nil {
		return c, err
	}
	c.SecureCookies = !isLoopback(c.Addr)
	if v := getenv("COEX_SECURE_COOKIES"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, &Error{"COEX_SECURE_COOKIES", "must be true or false"}
		}
		c.SecureCookies = b
	}
	if c.TrustedProxies, err = proxies.Parse(getenv("COEX_TRUSTED_PROXIES")); err != nil {
		return c, &Error{"COEX_TRUSTED_PROXIES", err.Error() + ` (use CIDRs such as "10.0.0.0/8, 192.0.2.10")`}
	}
	if key := getenv("COEX_SECRET_KEY"); key != "" {
		if c.SecretKey, err = parseKey(key); err != nil {
			return c, &Error{"COEX_SECRET_KEY", err.Error()}
		}
	}
	if !requireSecrets {
		return c, nil
	}
	switch {
	case len(c.AppSecret) < 16:
		return c, &Error{"COEX_APP_SECRET", "must be set to the Meta app secret (at least 16 characters)"}
	case len(c.VerifyToken) < 16:
		return c, &Error{"COEX_VERIFY_TOKEN", "must be set to a random string of at least 16 characters"}
	case c.SecretKey == nil:
		return c, &Error{"COEX_SECRET_KEY", "must be set to 32 random bytes, hex or base64 (e.g. `openssl rand -hex 32`)"}
	case c.PositusWebhookToken != "" && len(c.PositusWebhookToken) < 32:
		return c, &Error{"COEX_POSITUS_WEBHOOK_TOKEN", "must be at least 32 random characters (or unset to disable the Positus route)"}
	}
	return c, nil
}

func parseKey(s string) ([]byte, error) {
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, fmt.Errorf("must be 32 bytes as 64 hex characters or base64 (e.g. `openssl rand -hex 32`)")
}

func duration(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, &Error{name, `must be a positive duration such as "24h" or "90s"`}
	}
	return d, nil
}

func validVersion(v string) bool {
	if !strings.HasPrefix(v, "v") {
		return false
	}
	_, err := strconv.ParseFloat(v[1:], 64)
	return err == nil
}

func isLoopback(addr string) bool {
	host := addr
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		host = addr[:i]
	}
	host = strings.Trim(host, "[]")
	return host == "127.0.0.1" || host == "localhost" || host == "::1"
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
