package media

import (
	"net/url"
	"strings"
	"testing"
)

// The hosts of the configured API base URLs are trusted only with their own scheme: an
// answer pointing to the Graph API's host over plain HTTP would send the token in clear.
func TestDownloadHostErrorKeepsTheBaseScheme(t *testing.T) {
	d := NewDownloader(DownloaderConfig{GraphBaseURL: "https://graph.facebook.com", PositusBaseURL: "http://127.0.0.1:8091"})
	for _, tc := range []struct {
		provider, url, refuse string
	}{
		{ProviderMeta, "https://graph.facebook.com/v25.0/media", ""},
		{ProviderMeta, "http://graph.facebook.com/v25.0/media", "not HTTPS"},
		{ProviderPositus, "http://127.0.0.1:8091/media/1", ""}, // a simulator on plain HTTP
		{ProviderPositus, "http://127.0.0.1:8092/media/1", "not HTTPS"},
		{ProviderMeta, "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1", ""},
		{ProviderMeta, "https://fbsbx.com.evil.example/x", "not one of Meta's"},
	} {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		got := d.downloadHostError(tc.provider, u)
		if (tc.refuse == "") != (got == "") || !strings.Contains(got, tc.refuse) {
			t.Errorf("%s %s: %q, want %q", tc.provider, tc.url, got, tc.refuse)
		}
	}
}
