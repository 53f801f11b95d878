package media

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Providers of a number's media.
const (
	ProviderMeta    = "meta"
	ProviderPositus = "positus"
)

// Source says where a number's media are fetched and with which token.
type Source struct {
	Provider         string // ProviderMeta or ProviderPositus
	ProviderNumberID string // Positus's own number id
	Token            string
}

// Outcome classifies a failed download.
type Outcome int

const (
	Transient Outcome = iota // try again later (429, 5xx, time-outs, network)
	Expired                  // the provider no longer has the media: final
	Permanent                // a reason that retrying will not change: final
)

// Error is a failed download with its outcome.
type Error struct {
	Outcome    Outcome
	Reason     string        // for staff; never a token or a signed URL
	RetryAfter time.Duration // the provider's hint, 0 without one
	Err        error
}

func (e *Error) Error() string { return e.Reason }
func (e *Error) Unwrap() error { return e.Err }

// OutcomeOf returns the outcome of err (Transient for errors that are not *Error).
func OutcomeOf(err error) (Outcome, time.Duration) {
	var e *Error
	if errors.As(err, &e) {
		return e.Outcome, e.RetryAfter
	}
	return Transient, 0
}

// DownloaderConfig configures a Downloader. Zero fields take defaults.
type DownloaderConfig struct {
	Storage        *Storage
	GraphBaseURL   string // default https://graph.facebook.com
	GraphVersion   string // default v25.0
	PositusBaseURL string // default https://api.positus.global
	HTTP           *http.Client
	LookupTimeout  time.Duration // the media-id call; default 20 s
	IdleTimeout    time.Duration // a download with no byte for this long fails (transient); default 60 s
	MaxBytes       int64         // default DefaultMaxBytes
	// DownloadHosts are domains download URLs may point to besides the providers' own (see
	// hosts.go); COEX_MEDIA_DOWNLOAD_HOSTS.
	DownloadHosts []string
}

// Downloader fetches one media id into the storage.
type Downloader struct {
	cfg DownloaderConfig
}

// NewDownloader returns a Downloader.
func NewDownloader(cfg DownloaderConfig) *Downloader {
	if cfg.GraphBaseURL == "" {
		cfg.GraphBaseURL = "https://graph.facebook.com"
	}
	if cfg.GraphVersion == "" {
		cfg.GraphVersion = "v25.0"
	}
	if cfg.PositusBaseURL == "" {
		cfg.PositusBaseURL = "https://api.positus.global"
	}
	cfg.GraphBaseURL = strings.TrimRight(cfg.GraphBaseURL, "/")
	cfg.PositusBaseURL = strings.TrimSuffix(strings.TrimRight(cfg.PositusBaseURL, "/"), "/v2")
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost:   16,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
			ForceAttemptHTTP2:     true,
		}}
	}
	if cfg.LookupTimeout <= 0 {
		cfg.LookupTimeout = 20 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 60 * time.Second
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	d := &Downloader{cfg: cfg}
	if cfg.HTTP.CheckRedirect == nil {
		client := *cfg.HTTP
		client.CheckRedirect = d.checkRedirect
		d.cfg.HTTP = &client
	}
	return d
}

// Request is one media id to fetch.
type Request struct {
	MediaID  string
	SHA256   string // as the webhook announced it (hex or base64); checked when the provider gives none
	MimeType string // as the webhook announced it
}

// Result is a stored file.
type Result struct {
	SHA256   string
	Size     int64
	MimeType string
	Dedup    bool // already stored: nothing was downloaded
}

// lookup is the provider's answer for a media id.
type lookup struct {
	URL      string `json:"url"`
	MimeType string `json:"mime_type"`
	SHA256   string `json:"sha256"`
	FileSize json.RawMessage
}

// Download fetches req.MediaID of src into the storage: the media-id call gives a short-lived
// URL, which is fetched with the same token and streamed to the storage while hashed. An
// expired URL is asked for again once. The SHA-256 is checked against the provider's (or
// else the webhook's); a mismatch stores nothing.
func (d *Downloader) Download(ctx context.Context, src Source, req Request) (Result, error) {
	if src.Token == "" {
		return Result{}, &Error{Outcome: Permanent, Reason: "the number has no access token"}
	}
	for try := 0; ; try++ {
		lk, err := d.lookup(ctx, src, req.MediaID)
		if err != nil {
			return Result{}, err
		}
		want := normalizeSHA(lk.SHA256)
		if want == "" {
			want = normalizeSHA(req.SHA256)
		}
		mime := cleanMime(lk.MimeType)
		if mime == "" {
			mime = cleanMime(req.MimeType)
		}
		if want != "" {
			if size, ok := d.stat(ctx, want); ok {
				return Result{SHA256: want, Size: size, MimeType: mime, Dedup: true}, nil
			}
		}
		res, err := d.fetch(ctx, src, lk.URL, want, mime)
		var e *Error
		if errors.As(err, &e) && e.Outcome == Expired && try == 0 {
			continue // the URL expired before we used it: ask for a fresh one
		}
		if errors.As(err, &e) && e.Outcome == Expired {
			e.Outcome = Transient // the media id is still valid; the URLs keep expiring
		}
		return res, err
	}
}

func (d *Downloader) stat(ctx context.Context, sum string) (int64, bool) {
	attrs, err := d.cfg.Storage.bucket.Attributes(ctx, Key(sum))
	if err != nil {
		return 0, false
	}
	return attrs.Size, true
}

// lookup asks the provider for the media id's URL.
func (d *Downloader) lookup(ctx context.Context, src Source, mediaID string) (lookup, error) {
	if !safeSegment(mediaID) {
		return lookup{}, &Error{Outcome: Permanent, Reason: "invalid media id"}
	}
	var endpoint string
	switch src.Provider {
	case ProviderPositus:
		if !safeSegment(src.ProviderNumberID) {
			return lookup{}, &Error{Outcome: Permanent, Reason: "the number has no valid Positus number id"}
		}
		endpoint = d.cfg.PositusBaseURL + "/v2/whatsapp/numbers/" + src.ProviderNumberID + "/media-by-id/" + mediaID
	default:
		endpoint = d.cfg.GraphBaseURL + "/" + d.cfg.GraphVersion + "/" + mediaID
	}
	cctx, cancel := context.WithTimeout(ctx, d.cfg.LookupTimeout)
	defer cancel()
	r, err := http.NewRequestWithContext(cctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return lookup{}, &Error{Outcome: Permanent, Reason: "media lookup: " + err.Error()}
	}
	r.Header.Set("Authorization", "Bearer "+src.Token)
	r.Header.Set("Accept", "application/json")
	resp, err := d.cfg.HTTP.Do(r)
	if err != nil {
		return lookup{}, &Error{Outcome: Transient, Reason: "media lookup: " + transportReason(ctx, err), Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return lookup{}, &Error{Outcome: Transient, Reason: "media lookup: " + transportReason(ctx, err), Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		return lookup{}, lookupError(resp, body)
	}
	var lk lookup
	if err := json.Unmarshal(body, &lk); err != nil {
		return lookup{}, &Error{Outcome: Transient, Reason: "media lookup: the answer is not JSON"}
	}
	// Positus wraps some answers in "data".
	if lk.URL == "" {
		var wrapped struct {
			Data lookup `json:"data"`
		}
		if json.Unmarshal(body, &wrapped) == nil {
			lk = wrapped.Data
		}
	}
	u, err := url.Parse(lk.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return lookup{}, &Error{Outcome: Transient, Reason: "media lookup: the answer has no download URL"}
	}
	if why := d.downloadHostError(src.Provider, u); why != "" {
		return lookup{}, &Error{Outcome: Permanent,
			Reason: "media lookup: the download URL is refused (the access token would go with it): " + why + "; COEX_MEDIA_DOWNLOAD_HOSTS adds domains"}
	}
	return lk, nil
}

// lookupError classifies a failed media-id call (spec §6.2).
func lookupError(resp *http.Response, body []byte) error {
	var ge struct {
		Error struct {
			Message     string `json:"message"`
			Code        int    `json:"code"`
			Subcode     int    `json:"error_subcode"`
			IsTransient bool   `json:"is_transient"`
		} `json:"error"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &ge)
	msg := ge.Error.Message
	if msg == "" {
		msg = ge.Message
	}
	reason := fmt.Sprintf("media lookup: HTTP %d", resp.StatusCode)
	if ge.Error.Code != 0 {
		reason += fmt.Sprintf(" code %d", ge.Error.Code)
	}
	if msg != "" {
		reason += ": " + clip(msg, 200)
	}
	wait := retryAfter(resp.Header.Get("Retry-After"))
	switch code := ge.Error.Code; {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 || ge.Error.IsTransient ||
		code == 1 || code == 2 || code == 4 || code == 17 || code == 341 || code == 80007 || code == 130429 || code == 131000:
		return &Error{Outcome: Transient, Reason: reason, RetryAfter: wait}
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone || code == 803 ||
		(code == 100 && (ge.Error.Subcode == 33 || resp.StatusCode == http.StatusNotFound)) || code == 131052:
		return &Error{Outcome: Expired, Reason: reason}
	default:
		return &Error{Outcome: Permanent, Reason: reason}
	}
}

// fetch GETs the download URL with the token and streams the body to the storage.
func (d *Downloader) fetch(ctx context.Context, src Source, rawURL, want, mime string) (Result, error) {
	cctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r, err := http.NewRequestWithContext(context.WithValue(cctx, providerKey{}, src.Provider), http.MethodGet, rawURL, nil)
	if err != nil {
		return Result{}, &Error{Outcome: Transient, Reason: "media download: bad URL"}
	}
	r.Header.Set("Authorization", "Bearer "+src.Token)
	resp, err := d.cfg.HTTP.Do(r)
	if err != nil {
		return Result{}, &Error{Outcome: Transient, Reason: "media download: " + transportReason(ctx, err), Err: err}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone ||
		resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<14))
		return Result{}, &Error{Outcome: Expired, Reason: fmt.Sprintf("media download: HTTP %d (the URL expired)", resp.StatusCode)}
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<14))
		return Result{}, &Error{Outcome: Transient, Reason: fmt.Sprintf("media download: HTTP %d", resp.StatusCode),
			RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	default:
		return Result{}, &Error{Outcome: Permanent, Reason: fmt.Sprintf("media download: HTTP %d", resp.StatusCode)}
	}
	if resp.ContentLength > d.cfg.MaxBytes {
		return Result{}, &Error{Outcome: Permanent, Reason: fmt.Sprintf("media download: %d bytes, more than the %d allowed", resp.ContentLength, d.cfg.MaxBytes)}
	}
	if mime == "" {
		mime = cleanMime(resp.Header.Get("Content-Type"))
	}
	body := &idleReader{r: resp.Body, timeout: d.cfg.IdleTimeout, cancel: cancel}
	defer body.stop()
	st, err := d.cfg.Storage.Put(cctx, body, want, mime, d.cfg.MaxBytes)
	switch {
	case err == nil:
	case errors.Is(err, ErrSHAMismatch):
		return Result{}, &Error{Outcome: Permanent, Reason: err.Error(), Err: err}
	case errors.Is(err, ErrTooLarge):
		return Result{}, &Error{Outcome: Permanent, Reason: err.Error(), Err: err}
	case errors.Is(context.Cause(cctx), errIdle):
		return Result{}, &Error{Outcome: Transient, Reason: fmt.Sprintf("media download: no data for %s", d.cfg.IdleTimeout), Err: err}
	default:
		return Result{}, &Error{Outcome: Transient, Reason: "media download: " + transportReason(ctx, err), Err: err}
	}
	if resp.ContentLength >= 0 && st.Size != resp.ContentLength {
		return Result{}, &Error{Outcome: Transient, Reason: fmt.Sprintf("media download: %d of %d bytes", st.Size, resp.ContentLength)}
	}
	return Result{SHA256: st.SHA256, Size: st.Size, MimeType: mime, Dedup: st.Dedup}, nil
}

var errIdle = errors.New("download idle")

// idleReader cancels the download when no byte arrives for timeout.
type idleReader struct {
	r       io.Reader
	timeout time.Duration
	cancel  context.CancelCauseFunc
	t       *time.Timer
}

func (ir *idleReader) Read(p []byte) (int, error) {
	if ir.t == nil {
		ir.t = time.AfterFunc(ir.timeout, func() { ir.cancel(errIdle) })
	} else {
		ir.t.Reset(ir.timeout)
	}
	return ir.r.Read(p)
}

func (ir *idleReader) stop() {
	if ir.t != nil {
		ir.t.Stop()
	}
}

// transportReason describes a network error without its URL (which may be signed).
func transportReason(ctx context.Context, err error) string {
	if ctx.Err() != nil {
		return "stopped"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return "time-out"
	}
	return clip(err.Error(), 200)
}

// normalizeSHA turns Meta's sha256 (hex, or base64 in some answers) into lowercase hex;
// "" when it is neither.
func normalizeSHA(s string) string {
	s = strings.TrimSpace(s)
	if len(s) == 64 {
		if b, err := hex.DecodeString(s); err == nil {
			return hex.EncodeToString(b)
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return hex.EncodeToString(b)
		}
	}
	return ""
}

// cleanMime keeps a plausible "type/subtype; params" value, lowercased type.
func cleanMime(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 128 || !strings.Contains(s, "/") || strings.ContainsAny(s, "\r\n") {
		return ""
	}
	return s
}

func safeSegment(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return s != "." && s != ".."
}

func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return min(time.Duration(n)*time.Second, 10*time.Minute)
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(time.Until(t), 0), 10*time.Minute)
	}
	return 0
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
