package static

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

func TestEmbeddedFiles(t *testing.T) {
	a, err := New()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"css/app.css", "js/app.js", "js/htmx.min.js"}
	got := a.Names()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Names() = %q, want %q", got, want)
	}
}

// The vendored HTMX must be the file recorded in VENDORED.md.
func TestVendoredHTMXMatchesRecord(t *testing.T) {
	js, err := os.ReadFile("js/htmx.min.js")
	if err != nil {
		t.Fatal(err)
	}
	record, err := os.ReadFile("VENDORED.md")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(js)
	if !strings.Contains(string(record), hex.EncodeToString(sum[:])) {
		t.Errorf("VENDORED.md does not record sha256 %x of js/htmx.min.js", sum)
	}
	m := regexp.MustCompile(`version:"(2\.0\.\d+)"`).FindSubmatch(js)
	if m == nil {
		t.Fatal("js/htmx.min.js has no htmx 2.0.x version string")
	}
	if !strings.Contains(string(record), "| "+string(m[1])+" |") {
		t.Errorf("VENDORED.md does not record htmx version %s", m[1])
	}
}

func testAssets(t *testing.T) *Assets {
	t.Helper()
	a, err := NewFromFS(fstest.MapFS{
		"css/app.css": {Data: []byte("body{color:red}")},
		"js/app.js":   {Data: []byte("console.log(1)")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestPath(t *testing.T) {
	a := testAssets(t)
	sum := sha256.Sum256([]byte("body{color:red}"))
	hash := hex.EncodeToString(sum[:])[:12]
	tests := []struct{ name, want string }{
		{"css/app.css", "/static/css/app.css?v=" + hash},
		{"/css/app.css", "/static/css/app.css?v=" + hash},
		{"css/missing.css", "/static/css/missing.css"},
	}
	for _, tc := range tests {
		if got := a.Path(tc.name); got != tc.want {
			t.Errorf("Path(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := a.Hash("css/app.css"); got != hash {
		t.Errorf("Hash = %q, want %q", got, hash)
	}
}

func TestNewFromEmptyFS(t *testing.T) {
	if _, err := NewFromFS(fstest.MapFS{}); err == nil {
		t.Error("NewFromFS of an empty file system: want an error")
	}
}

func TestServeHTTP(t *testing.T) {
	a := testAssets(t)
	hash := a.Hash("css/app.css")
	tests := []struct {
		name         string
		method       string
		target       string
		header       map[string]string
		wantStatus   int
		wantType     string
		wantCache    string
		wantBody     string
		wantNoSniff  bool
		stripPrefix  bool
		wantAllowHdr string
	}{
		{name: "hashed URL is immutable", method: "GET", target: a.Path("css/app.css"), wantStatus: 200,
			wantType: "text/css; charset=utf-8", wantCache: "public, max-age=31536000, immutable", wantBody: "body{color:red}", wantNoSniff: true},
		{name: "javascript type", method: "GET", target: a.Path("js/app.js"), wantStatus: 200,
			wantType: "text/javascript; charset=utf-8", wantCache: "public, max-age=31536000, immutable", wantBody: "console.log(1)", wantNoSniff: true},
		{name: "no hash must revalidate", method: "GET", target: "/static/css/app.css", wantStatus: 200,
			wantType: "text/css; charset=utf-8", wantCache: "no-cache", wantBody: "body{color:red}", wantNoSniff: true},
		{name: "stale hash must revalidate", method: "GET", target: "/static/css/app.css?v=000000000000", wantStatus: 200,
			wantCache: "no-cache", wantBody: "body{color:red}"},
		{name: "etag answers 304", method: "GET", target: "/static/css/app.css", header: map[string]string{"If-None-Match": `"` + hash + `"`},
			wantStatus: 304, wantBody: ""},
		{name: "behind StripPrefix", method: "GET", target: "/css/app.css?v=" + hash, wantStatus: 200, stripPrefix: true,
			wantCache: "public, max-age=31536000, immutable", wantBody: "body{color:red}"},
		{name: "head", method: "HEAD", target: a.Path("css/app.css"), wantStatus: 200, wantType: "text/css; charset=utf-8", wantBody: ""},
		{name: "unknown file", method: "GET", target: "/static/css/nope.css", wantStatus: 404},
		{name: "directory", method: "GET", target: "/static/css/", wantStatus: 404},
		{name: "path traversal", method: "GET", target: "/static/../embed.go", wantStatus: 404},
		{name: "post refused", method: "POST", target: a.Path("css/app.css"), wantStatus: 405, wantAllowHdr: "GET, HEAD"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "http://x"+tc.target, nil)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			if tc.stripPrefix {
				req.URL.Path = strings.TrimPrefix(req.URL.Path, "/static")
			}
			rec := httptest.NewRecorder()
			a.ServeHTTP(rec, req)
			res := rec.Result()
			if res.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d", res.StatusCode, tc.wantStatus)
			}
			if tc.wantType != "" && res.Header.Get("Content-Type") != tc.wantType {
				t.Errorf("Content-Type = %q, want %q", res.Header.Get("Content-Type"), tc.wantType)
			}
			if tc.wantCache != "" && res.Header.Get("Cache-Control") != tc.wantCache {
				t.Errorf("Cache-Control = %q, want %q", res.Header.Get("Cache-Control"), tc.wantCache)
			}
			if tc.wantStatus == http.StatusOK && rec.Body.String() != tc.wantBody {
				t.Errorf("body = %q, want %q", rec.Body.String(), tc.wantBody)
			}
			if tc.wantStatus == http.StatusNotModified && rec.Body.Len() != 0 {
				t.Errorf("304 with a body: %q", rec.Body.String())
			}
			if tc.wantNoSniff && res.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("missing X-Content-Type-Options: nosniff")
			}
			if tc.wantAllowHdr != "" && res.Header.Get("Allow") != tc.wantAllowHdr {
				t.Errorf("Allow = %q, want %q", res.Header.Get("Allow"), tc.wantAllowHdr)
			}
		})
	}
}

// No inline event handlers or javascript: URLs in what we ship (CSP script-src 'self').
func TestAppJSHasNoEval(t *testing.T) {
	js, err := os.ReadFile("js/app.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"eval(", "new Function", "innerHTML = evt", "javascript:"} {
		if strings.Contains(string(js), bad) {
			t.Errorf("app.js contains %q", bad)
		}
	}
}
