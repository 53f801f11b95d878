package config

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func valid() map[string]string {
	return map[string]string{
		"COEX_APP_SECRET":   "0123456789abcdef0123",
		"COEX_VERIFY_TOKEN": "verify-token-0123456789",
		"COEX_SECRET_KEY":   strings.Repeat("ab", 32),
	}
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(valid()), true)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.DatabaseURL != "sqlite:data/coexhistory.db" || c.GraphAPIVersion != "v25.0" {
		t.Fatalf("defaults: %+v", c)
	}
	if c.SyncTimeout != 24*time.Hour || len(c.SecretKey) != 32 || c.SecureCookies {
		t.Fatalf("defaults: timeout %v key %d secure %v", c.SyncTimeout, len(c.SecretKey), c.SecureCookies)
	}
}

func TestLoadNamesTheBadVariable(t *testing.T) {
	cases := []struct {
		name, set, value, wantVar string
	}{
		{"missing app secret", "COEX_APP_SECRET", "", "COEX_APP_SECRET"},
		{"short verify token", "COEX_VERIFY_TOKEN", "x", "COEX_VERIFY_TOKEN"},
		{"missing key", "COEX_SECRET_KEY", "", "COEX_SECRET_KEY"},
		{"short key", "COEX_SECRET_KEY", "abcd", "COEX_SECRET_KEY"},
		{"bad database url", "COEX_DATABASE_URL", "postgres://x", "COEX_DATABASE_URL"},
		{"mysql without db", "COEX_DATABASE_URL", "mysql://u:p@h:3306/", "COEX_DATABASE_URL"},
		{"bad graph url", "COEX_GRAPH_BASE_URL", "ftp://x", "COEX_GRAPH_BASE_URL"},
		{"bad version", "COEX_GRAPH_API_VERSION", "25", "COEX_GRAPH_API_VERSION"},
		{"bad timeout", "COEX_SYNC_TIMEOUT", "soon", "COEX_SYNC_TIMEOUT"},
		{"bad workers", "COEX_WORKERS", "0", "COEX_WORKERS"},
		{"short positus token", "COEX_POSITUS_WEBHOOK_TOKEN", "short", "COEX_POSITUS_WEBHOOK_TOKEN"},
		{"bad secure cookies", "COEX_SECURE_COOKIES", "maybe", "COEX_SECURE_COOKIES"},
		{"bad trusted proxies", "COEX_TRUSTED_PROXIES", "10.0.0.0/8, proxy.local", "COEX_TRUSTED_PROXIES"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := valid()
			m[tc.set] = tc.value
			_, err := Load(env(m), true)
			if err == nil {
				t.Fatal("Load accepted a bad value")
			}
			if !strings.HasPrefix(err.Error(), tc.wantVar+": ") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q does not name %s on one line", err, tc.wantVar)
			}
		})
	}
}

func TestLoadWithoutSecretsForMigrate(t *testing.T) {
	if _, err := Load(env(map[string]string{}), false); err != nil {
		t.Fatalf("migrate needs no secrets: %v", err)
	}
}

func TestLoadMedia(t *testing.T) {
	m := valid()
	m["COEX_DATABASE_URL"] = "sqlite:/var/lib/coex/coex.db"
	c, err := Load(env(m), true)
	if err != nil {
		t.Fatal(err)
	}
	if c.Media.URL != "/var/lib/coex/media" || c.Media.Retention != 0 || c.Media.Workers != 4 {
		t.Fatalf("media defaults: %+v", c.Media)
	}
	m["COEX_MEDIA_URL"] = "s3://bucket?endpoint=http://127.0.0.1:9000&region=us-east-1"
	m["COEX_MEDIA_RETENTION"] = "365d"
	if c, err = Load(env(m), true); err != nil || c.Media.URL != m["COEX_MEDIA_URL"] || c.Media.Retention != 365*24*time.Hour {
		t.Fatalf("media: %+v %v", c.Media, err)
	}
	m["COEX_MEDIA_DOWNLOAD_HOSTS"] = " cdn.example.com, .Media.Example.org. ,"
	if c, err = Load(env(m), true); err != nil || len(c.Media.DownloadHosts) != 2 || c.Media.DownloadHosts[0] != "cdn.example.com" || c.Media.DownloadHosts[1] != "media.example.org" {
		t.Fatalf("download hosts: %+v %v", c.Media.DownloadHosts, err)
	}
	delete(m, "COEX_MEDIA_DOWNLOAD_HOSTS")
	for k, v := range map[string]string{"COEX_MEDIA_URL": "ftp://x", "COEX_MEDIA_RETENTION": "soon", "COEX_MEDIA_WORKERS": "0",
		"COEX_MEDIA_DOWNLOAD_HOSTS": "https://cdn.example.com/"} {
		bad := valid()
		bad[k] = v
		if _, err := Load(env(bad), true); err == nil || !strings.HasPrefix(err.Error(), k+": ") {
			t.Errorf("%s=%s: %v", k, v, err)
		}
	}
}
