package media_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"coexhistory/internal/media"
	"coexhistory/internal/sim"
)

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// s3URL starts an in-process S3-compatible server and returns the COEX_MEDIA_URL of a
// fresh bucket on it.
func s3URL(t *testing.T) string {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("media"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	return "s3://media?endpoint=" + srv.URL + "&region=us-east-1&use_path_style=true&disable_https=true"
}

func eachStorage(t *testing.T, fn func(t *testing.T, st *media.Storage)) {
	for _, kind := range []string{"dir", "s3"} {
		t.Run(kind, func(t *testing.T) {
			var u string
			switch kind {
			case "dir":
				u = filepath.Join(t.TempDir(), "media")
			case "s3":
				u = s3URL(t)
			}
			st, err := media.OpenStorage(context.Background(), u)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			fn(t, st)
		})
	}
}

func TestStoragePutDedupMismatchAndRanges(t *testing.T) {
	eachStorage(t, func(t *testing.T, st *media.Storage) {
		ctx := context.Background()
		data := bytes.Repeat([]byte("0123456789"), 100_000) // 1 MB
		want := sum(data)

		got, err := st.Put(ctx, bytes.NewReader(data), want, "video/mp4", 0)
		if err != nil || got.SHA256 != want || got.Size != int64(len(data)) {
			t.Fatalf("put: %+v %v", got, err)
		}
		// Without an announced sum: temporary key, then the final one; the same file again is found.
		got, err = st.Put(ctx, bytes.NewReader(data), "", "video/mp4", 0)
		if err != nil || got.SHA256 != want || !got.Dedup {
			t.Fatalf("put without sum: %+v %v", got, err)
		}
		other := []byte("another file")
		got, err = st.Put(ctx, bytes.NewReader(other), "", "text/plain", 0)
		if err != nil || got.SHA256 != sum(other) || got.Dedup {
			t.Fatalf("put new without sum: %+v %v", got, err)
		}

		// A mismatch stores nothing under the announced key.
		bad := sum([]byte("something else"))
		if _, err := st.Put(ctx, bytes.NewReader(data), bad, "video/mp4", 0); !errors.Is(err, media.ErrSHAMismatch) {
			t.Fatalf("mismatch: %v", err)
		}
		if ok, _ := st.Has(ctx, bad); ok {
			t.Fatal("a file with the wrong sum was stored")
		}
		if _, err := st.Put(ctx, bytes.NewReader(data), "", "video/mp4", 1000); !errors.Is(err, media.ErrTooLarge) {
			t.Fatalf("too large: %v", err)
		}

		// Served with ranges.
		obj, err := st.Open(ctx, want)
		if err != nil {
			t.Fatal(err)
		}
		defer obj.Close()
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/x", nil)
		req.Header.Set("Range", "bytes=500000-500009")
		http.ServeContent(rec, req, "", obj.ModTime(), obj)
		if rec.Code != http.StatusPartialContent || rec.Body.String() != "0123456789" {
			t.Fatalf("range: %d %q", rec.Code, rec.Body.String())
		}
		if _, err := st.Open(ctx, bad); !errors.Is(err, media.ErrNotStored) {
			t.Fatalf("open missing: %v", err)
		}
		if err := st.Delete(ctx, want); err != nil {
			t.Fatal(err)
		}
		if ok, _ := st.Has(ctx, want); ok {
			t.Fatal("deleted file still there")
		}
	})
}

func TestOpenStorageURLs(t *testing.T) {
	dir := t.TempDir()
	for _, u := range []string{dir + "/a", "file://" + dir + "/b", "mem://"} {
		st, err := media.OpenStorage(context.Background(), u)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		_ = st.Close()
	}
	if _, err := os.Stat(dir + "/b"); err != nil {
		t.Fatalf("file:// directory not created: %v", err)
	}
	for _, u := range []string{"", "ftp://x", "s3://"} {
		if _, err := media.OpenStorage(context.Background(), u); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}

// rig is a simulator serving media and a downloader pointed at it.
type rig struct {
	sim *sim.Server
	url string
	st  *media.Storage
	dl  *media.Downloader
}

const (
	metaPNID  = "623400011122233"
	positusID = "3f1c2a9e-0b7d-4d51-9a43-2b8c6d1e0f77"
	token     = "sim-token-0123456789"
)

func newRig(t *testing.T, idle time.Duration) *rig {
	t.Helper()
	s := sim.NewServer(sim.ServerConfig{
		Numbers:     []sim.Number{{PhoneNumberID: metaPNID, PositusID: positusID}},
		AccessToken: token,
	})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	t.Cleanup(s.Close)
	st, err := media.OpenStorage(context.Background(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	return &rig{sim: s, url: srv.URL, st: st, dl: media.NewDownloader(media.DownloaderConfig{
		Storage: st, GraphBaseURL: srv.URL, PositusBaseURL: srv.URL, IdleTimeout: idle,
	})}
}

var meta = media.Source{Provider: media.ProviderMeta, Token: token}

func TestDownloadEveryKind(t *testing.T) {
	r := newRig(t, 0)
	ctx := context.Background()
	files := []sim.MediaFile{
		{ID: "1001", MimeType: "image/jpeg"},
		{ID: "1002", MimeType: "image/png"},
		{ID: "1003", MimeType: "audio/ogg; codecs=opus"},
		{ID: "1004", MimeType: "video/webm"},
		{ID: "1005", MimeType: "application/pdf", Filename: "pedido.pdf"},
	}
	for _, f := range files {
		r.sim.AddMedia(f)
		content := sim.MediaContent(f)
		res, err := r.dl.Download(ctx, meta, media.Request{MediaID: f.ID})
		if err != nil {
			t.Fatalf("%s: %v", f.MimeType, err)
		}
		if res.SHA256 != sum(content) || res.Size != int64(len(content)) || res.MimeType != f.MimeType {
			t.Fatalf("%s: %+v (content %d bytes)", f.MimeType, res, len(content))
		}
		obj, err := r.st.Open(ctx, res.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(obj)
		_ = obj.Close()
		if !bytes.Equal(b, content) {
			t.Fatalf("%s: stored bytes differ", f.MimeType)
		}
	}
	// Positus: its own media endpoint, the same bytes.
	r.sim.AddMedia(sim.MediaFile{ID: "2001", MimeType: "image/jpeg"})
	res, err := r.dl.Download(ctx, media.Source{Provider: media.ProviderPositus, ProviderNumberID: positusID, Token: token},
		media.Request{MediaID: "2001"})
	if err != nil || res.SHA256 != sum(sim.MediaContent(sim.MediaFile{ID: "2001", MimeType: "image/jpeg"})) {
		t.Fatalf("positus: %+v %v", res, err)
	}
	// Identical files are stored once: a second id with the same voice note downloads nothing.
	r.sim.AddMedia(sim.MediaFile{ID: "1006", MimeType: "audio/ogg"})
	_, before := r.sim.MediaCalls()
	res, err = r.dl.Download(ctx, meta, media.Request{MediaID: "1006"})
	_, after := r.sim.MediaCalls()
	if err != nil || !res.Dedup || after != before {
		t.Fatalf("dedup: %+v %v, downloads %d → %d", res, err, before, after)
	}
}

func TestDownloadFaults(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name    string
		faults  sim.MediaFaults
		outcome media.Outcome
		ok      bool
		reason  string
	}{
		{name: "expired", faults: sim.MediaFaults{Expired: true}, outcome: media.Expired, reason: "code 100"},
		{name: "429 once", faults: sim.MediaFaults{RateLimitOnce: true}, outcome: media.Transient, reason: "HTTP 429"},
		{name: "url expired", faults: sim.MediaFaults{URLExpired: true}, ok: true},
		{name: "sha mismatch", faults: sim.MediaFaults{SHAMismatch: true}, outcome: media.Permanent, reason: "sha256 mismatch"},
		{name: "slow", faults: sim.MediaFaults{Slow: 300 * time.Millisecond}, outcome: media.Transient, reason: "no data"},
		{name: "5xx", faults: sim.MediaFaults{ServerError: true}, outcome: media.Transient, reason: "HTTP 503"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, 100*time.Millisecond)
			f := sim.MediaFile{ID: "3001", MimeType: "image/jpeg"}
			r.sim.AddMedia(f)
			r.sim.SetMediaFault(f.ID, tc.faults)
			res, err := r.dl.Download(ctx, meta, media.Request{MediaID: f.ID})
			if tc.ok {
				if err != nil || res.SHA256 != sum(sim.MediaContent(f)) {
					t.Fatalf("want success: %+v %v", res, err)
				}
				if lookups, _ := r.sim.MediaCalls(); lookups != 2 {
					t.Fatalf("lookups %d, want 2 (a fresh URL)", lookups)
				}
				return
			}
			if err == nil {
				t.Fatalf("want failure, got %+v", res)
			}
			if o, _ := media.OutcomeOf(err); o != tc.outcome || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("outcome %v (%v), want %v with %q", o, err, tc.outcome, tc.reason)
			}
			if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "sig=") {
				t.Fatalf("error leaks a secret: %v", err)
			}
			if ok, _ := r.st.Has(ctx, sum(sim.MediaContent(f))); ok {
				t.Fatal("a failed download left a file")
			}
		})
	}
	t.Run("429 then success", func(t *testing.T) {
		r := newRig(t, 0)
		f := sim.MediaFile{ID: "3002", MimeType: "image/png"}
		r.sim.AddMedia(f)
		r.sim.SetMediaFault(f.ID, sim.MediaFaults{RateLimitOnce: true})
		if _, err := r.dl.Download(ctx, meta, media.Request{MediaID: f.ID}); err == nil {
			t.Fatal("first call not limited")
		}
		if _, err := r.dl.Download(ctx, meta, media.Request{MediaID: f.ID}); err != nil {
			t.Fatalf("second call: %v", err)
		}
	})
	t.Run("unknown id and bad token", func(t *testing.T) {
		r := newRig(t, 0)
		if _, err := r.dl.Download(ctx, meta, media.Request{MediaID: "999"}); err == nil {
			t.Fatal("unknown media id downloaded")
		} else if o, _ := media.OutcomeOf(err); o != media.Expired {
			t.Fatalf("unknown id: %v", err)
		}
		r.sim.AddMedia(sim.MediaFile{ID: "3003", MimeType: "image/png"})
		_, err := r.dl.Download(ctx, media.Source{Provider: media.ProviderMeta, Token: "wrong"}, media.Request{MediaID: "3003"})
		if o, _ := media.OutcomeOf(err); err == nil || o != media.Permanent {
			t.Fatalf("bad token: %v", err)
		}
		_, err = r.dl.Download(ctx, meta, media.Request{MediaID: "../x"})
		if o, _ := media.OutcomeOf(err); err == nil || o != media.Permanent {
			t.Fatalf("bad id: %v", err)
		}
	})
}

// The access token goes with a download, so the URL a lookup answers is fetched only from
// the provider's media hosts (Meta's domains; for Positus, any HTTPS host with a name),
// the configured API hosts, or the domains COEX_MEDIA_DOWNLOAD_HOSTS adds. A refused URL
// is a permanent failure that names why, and nothing is requested from it.
func TestDownloadOnlyFromMediaHosts(t *testing.T) {
	var cdnHits, plainHits atomic.Int32
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plainHits.Add(1)
		_, _ = w.Write([]byte("jpeg bytes"))
	}))
	t.Cleanup(plain.Close)
	cdn := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cdnHits.Add(1)
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, plain.URL+"/file", http.StatusFound) // HTTPS → plain HTTP, token along
			return
		}
		_, _ = w.Write([]byte("jpeg bytes"))
	}))
	t.Cleanup(cdn.Close)
	var answer atomic.Value // the download URL the lookup gives
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"url": answer.Load().(string), "mime_type": "image/jpeg"})
	}))
	t.Cleanup(api.Close)
	st, err := media.OpenStorage(context.Background(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	dl := media.NewDownloader(media.DownloaderConfig{Storage: st, GraphBaseURL: api.URL, PositusBaseURL: api.URL,
		HTTP: cdn.Client(), DownloadHosts: []string{"127.0.0.1"}})
	positus := media.Source{Provider: media.ProviderPositus, ProviderNumberID: positusID, Token: token}
	for _, tc := range []struct {
		name   string
		src    media.Source
		url    string
		refuse string // "" = downloaded
	}{
		{"meta: another domain", meta, "https://lookaside.fbsbx.com.evil.example/v/t62?sig=1", "is not one of Meta's"},
		{"meta: plain http", meta, "http://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1", "not HTTPS"},
		{"positus: an address", positus, "https://10.0.0.5/media/1", "an address or a local name"},
		{"positus: a metadata address", positus, "https://169.254.169.254/latest/meta-data", "an address or a local name"},
		{"positus: a local name", positus, "https://media.internal/1", "an address or a local name"},
		{"positus: plain http", positus, "http://cdn.positus.global/1", "not HTTPS"},
		{"an added domain", meta, cdn.URL + "/file?sig=1", ""},
		{"the configured API host, plain http", positus, api.URL + "/file", ""}, // a simulator or test server
		{"a redirect from HTTPS to plain HTTP", meta, cdn.URL + "/moved", "redirect"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			answer.Store(tc.url)
			before := cdnHits.Load()
			res, err := dl.Download(context.Background(), tc.src, media.Request{MediaID: "4001"})
			switch {
			case tc.refuse == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.refuse == "":
				fromCDN := strings.HasPrefix(tc.url, cdn.URL)
				if res.Size == 0 || fromCDN != (cdnHits.Load() == before+1) {
					t.Fatalf("downloaded %+v, %d requests to the CDN", res, cdnHits.Load()-before)
				}
			case tc.refuse == "redirect":
				if err == nil || !strings.Contains(err.Error(), "redirect") || plainHits.Load() != 0 {
					t.Fatalf("got %v, %d requests to the plain host; want the redirect refused before it is followed", err, plainHits.Load())
				}
			default:
				o, _ := media.OutcomeOf(err)
				if err == nil || o != media.Permanent || !strings.Contains(err.Error(), tc.refuse) || !strings.Contains(err.Error(), "COEX_MEDIA_DOWNLOAD_HOSTS") {
					t.Fatalf("got %v (%v), want a permanent refusal saying %q", err, o, tc.refuse)
				}
				if strings.Contains(err.Error(), "sig=") || strings.Contains(err.Error(), token) {
					t.Fatalf("the refusal leaks the URL's signature or the token: %v", err)
				}
				if cdnHits.Load() != before {
					t.Fatal("a refused URL was requested")
				}
			}
		})
	}
}
