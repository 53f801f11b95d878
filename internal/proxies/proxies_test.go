package proxies

import (
	"crypto/tls"
	"net/http"
	"testing"
)

func req(remote string, h map[string]string) *http.Request {
	r, _ := http.NewRequest("GET", "http://x/", nil)
	r.RemoteAddr = remote
	for k, v := range h {
		r.Header.Set(k, v)
	}
	return r
}

func TestClientIPAndScheme(t *testing.T) {
	tr, err := Parse("10.0.0.0/8, 192.0.2.10 fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		remote string
		h      map[string]string
		ip     string
		https  bool
	}{
		{"direct client, headers ignored", "203.0.113.7:5000", map[string]string{"X-Forwarded-For": "1.1.1.1", "X-Forwarded-Proto": "https"}, "203.0.113.7", false},
		{"loopback is not trusted unless listed", "127.0.0.1:5000", map[string]string{"X-Forwarded-For": "1.1.1.1"}, "127.0.0.1", false},
		{"private ranges are not trusted unless listed", "172.16.0.1:5000", map[string]string{"X-Forwarded-For": "1.1.1.1"}, "172.16.0.1", false},
		{"trusted proxy", "10.1.2.3:5000", map[string]string{"X-Forwarded-For": "198.51.100.4", "X-Forwarded-Proto": "https"}, "198.51.100.4", true},
		{"client-written hops on the left are ignored", "10.1.2.3:5000", map[string]string{"X-Forwarded-For": "6.6.6.6, 198.51.100.4"}, "198.51.100.4", false},
		{"chain of trusted proxies", "192.0.2.10:80", map[string]string{"X-Forwarded-For": "198.51.100.4, 10.9.9.9"}, "198.51.100.4", false},
		{"all hops trusted", "10.1.2.3:5000", map[string]string{"X-Forwarded-For": "10.7.7.7"}, "10.7.7.7", false},
		{"no header from a proxy", "10.1.2.3:5000", nil, "10.1.2.3", false},
		{"garbage from a trusted proxy", "10.1.2.3:5000", map[string]string{"X-Forwarded-For": "1.1.1.1, nonsense"}, "10.1.2.3", false},
		{"IPv6 proxy and client", "[fd00::1]:443", map[string]string{"X-Forwarded-For": "2001:db8::5", "X-Forwarded-Proto": "http, https"}, "2001:db8::5", true},
		{"4in6 proxy", "[::ffff:10.0.0.1]:80", map[string]string{"X-Forwarded-For": "198.51.100.9"}, "198.51.100.9", false},
		{"proto http", "10.1.2.3:5000", map[string]string{"X-Forwarded-Proto": "http"}, "10.1.2.3", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := req(tc.remote, tc.h)
			if got := tr.ClientIP(r); got != tc.ip {
				t.Errorf("ClientIP = %q, want %q", got, tc.ip)
			}
			if got := tr.IsHTTPS(r); got != tc.https {
				t.Errorf("IsHTTPS = %v, want %v", got, tc.https)
			}
		})
	}
	r := req("203.0.113.7:5000", nil)
	r.TLS = &tls.ConnectionState{}
	if !tr.IsHTTPS(r) {
		t.Error("TLS connection not seen as HTTPS")
	}
	var none *Trusted
	if none.ClientIP(req("10.1.2.3:1", map[string]string{"X-Forwarded-For": "1.1.1.1"})) != "10.1.2.3" || !none.Empty() {
		t.Error("nil Trusted trusts someone")
	}
}

func TestParseRejectsGarbage(t *testing.T) {
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0.1/8/1"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	tr, err := Parse("")
	if err != nil || !tr.Empty() {
		t.Fatalf("empty list: %v", err)
	}
}
