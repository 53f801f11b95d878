package sim

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	_ "embed"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The bundled real files of the kinds that cannot be drawn in Go: a short spoken voice
// note (Ogg/Opus) and a short video (WebM/VP8). They were made with espeak-ng, opusenc and
// ffmpeg (see testdata/media/README.md).
var (
	//go:embed testdata/media/voice.ogg
	voiceOgg []byte
	//go:embed testdata/media/clip.webm
	clipWebM []byte
)

// MediaURLLifetime is how long a download URL of the simulator is valid, like Meta's.
const MediaURLLifetime = 5 * time.Minute

// MediaFaults switch on the misbehaviour of the media endpoints.
type MediaFaults struct {
	Expired       bool          // the media-id call answers 400 code 100 subcode 33 (Meta no longer has it)
	RateLimitOnce bool          // the first media-id call of each media id answers 429
	URLExpired    bool          // the first URL given for each media id has already expired (404)
	SHAMismatch   bool          // the media-id call announces a SHA-256 the bytes do not have
	Slow          time.Duration // the download pauses this long before every 64 KB
	ServerError   bool          // every download answers 503
}

// MediaFile is a media id the simulator serves. Without Size the content is a real file of
// the mime type's kind (a JPEG or PNG drawn from the id, the bundled voice note or video, a
// PDF naming the id); with Size it is Size deterministic bytes (benchmarks).
type MediaFile struct {
	ID       string
	MimeType string
	Filename string
	Size     int64
}

type mediaState struct {
	mu       sync.Mutex
	files    map[string]MediaFile
	sums     map[string]mediaSum
	indexed  map[string]bool // phone_number_ids whose follow-ups are indexed
	faults   MediaFaults
	byID     map[string]MediaFaults
	limited  map[string]bool
	expired  map[string]bool
	key      []byte
	lookups  int
	download int
}

type mediaSum struct {
	sha  string
	size int64
}

var simMedia sync.Map // *Server → *mediaState

func (s *Server) media() *mediaState {
	if v, ok := simMedia.Load(s); ok {
		return v.(*mediaState)
	}
	key := sha256.Sum256([]byte(fmt.Sprintf("sim-media-%p-%d", s, time.Now().UnixNano())))
	v, _ := simMedia.LoadOrStore(s, &mediaState{
		files: map[string]MediaFile{}, sums: map[string]mediaSum{}, indexed: map[string]bool{},
		byID: map[string]MediaFaults{}, limited: map[string]bool{}, expired: map[string]bool{}, key: key[:],
	})
	return v.(*mediaState)
}

// AddMedia makes the simulator serve f under f.ID.
func (s *Server) AddMedia(f MediaFile) {
	m := s.media()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.files[f.ID] = f
	delete(m.sums, f.ID)
}

// SetMediaFaults sets the faults of every media id without faults of its own.
func (s *Server) SetMediaFaults(f MediaFaults) {
	m := s.media()
	m.mu.Lock()
	m.faults = f
	m.mu.Unlock()
}

// SetMediaFault sets the faults of one media id.
func (s *Server) SetMediaFault(id string, f MediaFaults) {
	m := s.media()
	m.mu.Lock()
	m.byID[id] = f
	m.mu.Unlock()
}

// MediaCalls counts the media-id calls and downloads answered so far.
func (s *Server) MediaCalls() (lookups, downloads int) {
	m := s.media()
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lookups, m.download
}

// MediaContent returns the bytes the simulator serves for f (tests compare with them).
func MediaContent(f MediaFile) []byte {
	var b bytes.Buffer
	_, _ = io.Copy(&b, mediaReader(f))
	return b.Bytes()
}

// mediaOr answers GET /{version}/{id} for a media id the simulator serves, and hands every
// other id to next (the phone number call).
func (s *Server) mediaOr(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("pnid")
		if _, ok := s.mediaFile(id); !ok {
			next(w, r)
			return
		}
		if !s.checkVersion(w, r) || !s.authorized(w, r) {
			return
		}
		s.mediaLookup(w, r, id, false)
	}
}

// positusMedia answers GET /v2/whatsapp/numbers/{pid}/media-by-id/{mid}.
func (s *Server) positusMedia(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	if _, ok := s.lookupNumber(r.PathValue("pid"), viaPositus); !ok {
		s.writeJSON(w, http.StatusNotFound, map[string]string{"message": "number not found"})
		return
	}
	s.mediaLookup(w, r, r.PathValue("mid"), true)
}

func (s *Server) mediaLookup(w http.ResponseWriter, r *http.Request, id string, positus bool) {
	m := s.media()
	f, ok := s.mediaFile(id)
	m.mu.Lock()
	m.lookups++
	faults := m.faultsOf(id)
	limitNow := faults.RateLimitOnce && !m.limited[id]
	if limitNow {
		m.limited[id] = true
	}
	m.mu.Unlock()
	switch {
	case !ok || faults.Expired:
		if positus {
			s.writeJSON(w, http.StatusNotFound, map[string]string{"message": "media not found"})
			return
		}
		s.unknownObject(w, id)
		return
	case limitNow:
		s.graphError(w, http.StatusTooManyRequests, graphError{
			Message: "(#4) Application request limit reached", Type: "OAuthException", Code: 4, IsTransient: true,
		})
		return
	}
	sum := s.mediaSum(f)
	announced := sum.sha
	if faults.SHAMismatch {
		x := sha256.Sum256([]byte("not " + sum.sha))
		announced = hex.EncodeToString(x[:])
	}
	exp := time.Now().Add(MediaURLLifetime).UnixMilli()
	m.mu.Lock()
	if faults.URLExpired && !m.expired[id] {
		m.expired[id] = true
		exp = time.Now().Add(-time.Second).UnixMilli()
	}
	m.mu.Unlock()
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := fmt.Sprintf("%s://%s/sim-media/%s?exp=%d&sig=%s", scheme, r.Host, id, exp, m.sign(id, exp))
	if positus {
		s.writeJSON(w, http.StatusOK, map[string]any{"id": id, "url": u, "mime_type": f.MimeType, "sha256": announced,
			"size": sum.size, "messaging_product": "whatsapp"})
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"messaging_product": "whatsapp", "url": u, "mime_type": f.MimeType,
		"sha256": announced, "file_size": sum.size, "id": id})
}

// mediaDownload answers GET /sim-media/{id}?exp=&sig= with the bytes; the URL must be
// unexpired and the bearer token present, like Meta's.
func (s *Server) mediaDownload(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	m := s.media()
	exp, _ := strconv.ParseInt(r.URL.Query().Get("exp"), 10, 64)
	if !hmac.Equal([]byte(r.URL.Query().Get("sig")), []byte(m.sign(id, exp))) || time.Now().UnixMilli() > exp {
		http.Error(w, "URL signature expired", http.StatusNotFound)
		return
	}
	if !s.authorized(w, r) {
		return
	}
	f, ok := s.mediaFile(id)
	if !ok {
		http.NotFound(w, r)
		return
	}
	m.mu.Lock()
	m.download++
	faults := m.faultsOf(id)
	m.mu.Unlock()
	if faults.ServerError {
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
		return
	}
	sum := s.mediaSum(f)
	w.Header().Set("Content-Type", f.MimeType)
	w.Header().Set("Content-Length", strconv.FormatInt(sum.size, 10))
	body := mediaReader(f)
	if faults.Slow <= 0 {
		_, _ = io.Copy(w, body)
		return
	}
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	buf := make([]byte, 64<<10)
	for {
		select {
		case <-r.Context().Done():
			return
		case <-time.After(faults.Slow):
		}
		n, err := io.ReadFull(body, buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			_ = rc.Flush()
		}
		if err != nil {
			return
		}
	}
}

func (m *mediaState) faultsOf(id string) MediaFaults {
	if f, ok := m.byID[id]; ok {
		return f
	}
	return m.faults
}

func (m *mediaState) sign(id string, exp int64) string {
	mac := hmac.New(sha256.New, m.key)
	fmt.Fprintf(mac, "%s|%d", id, exp)
	return hex.EncodeToString(mac.Sum(nil)[:16])
}

// mediaFile finds a served media id: added ones, then the media follow-ups of the
// histories generated so far.
func (s *Server) mediaFile(id string) (MediaFile, bool) {
	if id == "" {
		return MediaFile{}, false
	}
	m := s.media()
	m.mu.Lock()
	f, ok := m.files[id]
	m.mu.Unlock()
	if ok {
		return f, true
	}
	// Index the follow-ups of the histories generated (or being generated) so far.
	s.mu.Lock()
	var numbers []Number
	for pnid := range s.histories {
		if n, ok := s.numbers[pnid]; ok {
			numbers = append(numbers, n)
		}
	}
	s.mu.Unlock()
	for _, n := range numbers {
		m.mu.Lock()
		done := m.indexed[n.PhoneNumberID]
		m.mu.Unlock()
		if done {
			continue
		}
		h, err := s.historyOf(n)
		if err != nil {
			continue
		}
		files := followUpMedia(h.MediaFollowUps)
		m.mu.Lock()
		for _, f := range files {
			if _, ok := m.files[f.ID]; !ok {
				m.files[f.ID] = f
			}
		}
		m.indexed[n.PhoneNumberID] = true
		m.mu.Unlock()
	}
	m.mu.Lock()
	f, ok = m.files[id]
	m.mu.Unlock()
	return f, ok
}

// followUpMedia reads the media of history follow-up bodies.
func followUpMedia(bodies [][]byte) []MediaFile {
	var out []MediaFile
	for _, b := range bodies {
		var env struct {
			Entry []struct {
				Changes []struct {
					Value struct {
						Messages []map[string]json.RawMessage `json:"messages"`
					} `json:"value"`
				} `json:"changes"`
			} `json:"entry"`
		}
		if json.Unmarshal(b, &env) != nil {
			continue
		}
		for _, e := range env.Entry {
			for _, c := range e.Changes {
				for _, msg := range c.Value.Messages {
					var typ string
					_ = json.Unmarshal(msg["type"], &typ)
					var md wireMedia
					if json.Unmarshal(msg[typ], &md) != nil || md.ID == "" {
						continue
					}
					out = append(out, MediaFile{ID: md.ID, MimeType: md.MimeType, Filename: md.Filename})
				}
			}
		}
	}
	return out
}

func (s *Server) mediaSum(f MediaFile) mediaSum {
	m := s.media()
	m.mu.Lock()
	sum, ok := m.sums[f.ID]
	m.mu.Unlock()
	if ok {
		return sum
	}
	h := sha256.New()
	n, _ := io.Copy(h, mediaReader(f))
	sum = mediaSum{sha: hex.EncodeToString(h.Sum(nil)), size: n}
	m.mu.Lock()
	m.sums[f.ID] = sum
	m.mu.Unlock()
	return sum
}

// mediaReader returns the content of f.
func mediaReader(f MediaFile) io.Reader {
	if f.Size > 0 {
		return io.LimitReader(&seededBytes{rng: rand.NewChaCha8(seed32("bytes:" + f.ID))}, f.Size)
	}
	mime := strings.ToLower(strings.TrimSpace(strings.Split(f.MimeType, ";")[0]))
	switch {
	case mime == "image/jpeg" || mime == "image/jpg":
		var b bytes.Buffer
		_ = jpeg.Encode(&b, drawImage(f.ID, 320, 240), &jpeg.Options{Quality: 85})
		return &b
	case strings.HasPrefix(mime, "image/"):
		var b bytes.Buffer
		_ = png.Encode(&b, drawImage(f.ID, 256, 256))
		return &b
	case strings.HasPrefix(mime, "audio/"):
		return bytes.NewReader(voiceOgg)
	case strings.HasPrefix(mime, "video/"):
		return bytes.NewReader(clipWebM)
	case mime == "application/pdf":
		return bytes.NewReader(drawPDF(f))
	default:
		return strings.NewReader("coexhistory simulator file " + f.ID + "\n")
	}
}

// drawImage draws a picture of the id: a colour gradient with stripes, a different one
// for every id.
func drawImage(id string, w, h int) image.Image {
	seed := seed32("image:" + id)
	r0, g0, b0 := seed[0], seed[1], seed[2]
	stripe := 8 + int(seed[3]%24)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{R: r0 + uint8(x*255/w/2), G: g0 + uint8(y*255/h/2), B: b0, A: 255}
			if (x+y)/stripe%2 == 0 {
				c.B = 255 - c.B
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// drawPDF writes a one-page PDF naming the file.
func drawPDF(f MediaFile) []byte {
	name := f.Filename
	if name == "" {
		name = "document"
	}
	text := strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`).Replace(name + " - " + f.ID)
	stream := "BT /F1 14 Tf 50 780 Td (" + text + ") Tj ET"
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(stream), stream),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

type seededBytes struct{ rng *rand.ChaCha8 }

func (r *seededBytes) Read(p []byte) (int, error) {
	n := len(p) &^ 7
	if n == 0 {
		var tmp [8]byte
		binary.LittleEndian.PutUint64(tmp[:], r.rng.Uint64())
		return copy(p, tmp[:]), nil
	}
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(p[i:], r.rng.Uint64())
	}
	return n, nil
}

func seed32(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// Unwrap lets http.ResponseController reach the connection (slow downloads flush).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
