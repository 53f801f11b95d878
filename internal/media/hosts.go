package media

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// The provider's access token goes with every download, so a download URL is fetched only
// from where the provider keeps media. Meta's media URLs are on its own domains
// (lookaside.fbsbx.com today); Positus's are on a CDN it does not name, so they need only
// be HTTPS to a named host, never an address or a local name. The hosts of the configured
// API base URLs (a simulator, a test server) are trusted as they are, plain HTTP included;
// DownloadHosts adds domains for both providers.

// metaMediaDomains are the domains Meta serves media from.
var metaMediaDomains = []string{"fbsbx.com", "facebook.com", "fbcdn.net", "whatsapp.net", "whatsapp.com"}

// downloadHostError says why a download URL is refused, or "" when it may be fetched.
func (d *Downloader) downloadHostError(provider string, u *url.URL) string {
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "" {
		return "it has no host"
	}
	for _, base := range []string{d.cfg.GraphBaseURL, d.cfg.PositusBaseURL} {
		if b, err := url.Parse(base); err == nil && strings.EqualFold(b.Host, u.Host) && b.Scheme == u.Scheme {
			return ""
		}
	}
	if u.Scheme != "https" {
		return "it is not HTTPS"
	}
	if inDomains(host, d.cfg.DownloadHosts) {
		return ""
	}
	if provider == ProviderMeta {
		if inDomains(host, metaMediaDomains) {
			return ""
		}
		return "its host " + host + " is not one of Meta's"
	}
	if net.ParseIP(host) != nil || !strings.Contains(host, ".") || strings.HasSuffix(host, ".local") ||
		strings.HasSuffix(host, ".internal") || strings.HasSuffix(host, ".localhost") {
		return "its host " + host + " is an address or a local name"
	}
	return ""
}

// inDomains reports whether host is one of domains or below one.
func inDomains(host string, domains []string) bool {
	for _, d := range domains {
		d = strings.ToLower(strings.Trim(strings.TrimSpace(d), "."))
		if d != "" && (host == d || strings.HasSuffix(host, "."+d)) {
			return true
		}
	}
	return false
}

// providerKey carries a download's provider in its request context, for checkRedirect.
type providerKey struct{}

// checkRedirect applies the same rule to every redirect of a download (the client keeps the
// token on a redirect within the domain): HTTPS never becomes plain HTTP, and the target
// must be a host the download could have been sent to.
func (d *Downloader) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
		return errors.New("a redirect from HTTPS to " + req.URL.Scheme + " is refused")
	}
	provider, _ := req.Context().Value(providerKey{}).(string)
	if why := d.downloadHostError(provider, req.URL); why != "" {
		return errors.New("a redirect is refused: " + why)
	}
	return nil
}
