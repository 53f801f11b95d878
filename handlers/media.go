package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
	"unicode"

	"github.com/labstack/echo/v4"

	"coexhistory/internal/apperr"
	"coexhistory/internal/media"
	"coexhistory/internal/store"
	"coexhistory/models"
	"coexhistory/views/components"
)

// MediaService is what the media routes and the thread view need: the stored media of
// messages and their files.
type MediaService interface {
	MessageMedia(ctx context.Context, phoneNumberID, wamid string) (models.Message, *models.MediaJob, error)
	MediaJobs(ctx context.Context, phoneNumberID string, mediaIDs []string) (map[string]models.MediaJob, error)
	RequeueMediaJob(ctx context.Context, phoneNumberID, mediaID string) error
	OpenMedia(ctx context.Context, sha256 string) (*media.Object, error)
	MediaStats(ctx context.Context, phoneNumberID string) (store.MediaStats, error)
}

// mediaWindowBeforeOnboarding is how far before onboarding WhatsApp shares history media:
// older placeholders never get a media id.
const mediaWindowBeforeOnboarding = 14 * 24 * time.Hour

// mediaParams reads :wamid (unescaped) and ?phone_number_id=.
func mediaParams(c echo.Context) (pnid, wamid string, err error) {
	wamid = c.Param("wamid")
	if u, uerr := url.PathUnescape(wamid); uerr == nil {
		wamid = u
	}
	pnid = strings.TrimSpace(c.QueryParam("phone_number_id"))
	if pnid == "" || wamid == "" {
		return "", "", apperr.New(apperr.Invalid, "phone_number_id and the message's wamid are required.")
	}
	return pnid, wamid, nil
}

// staffMedia serves a stored file to signed-in staff: GET /messages/:wamid/media?phone_number_id=.
func (h *Handlers) staffMedia(c echo.Context) error { return h.serveMedia(c) }

// apiMedia serves a stored file to API tokens: GET /api/v1/messages/:wamid/media?phone_number_id=.
func (h *Handlers) apiMedia(c echo.Context) error { return h.serveMedia(c) }

var errNoMedia = apperr.New(apperr.NotFound, "This message has no stored media.")

func (h *Handlers) serveMedia(c echo.Context) error {
	if h.deps.Media == nil {
		return apperr.New(apperr.Unavailable, "Media are not available.")
	}
	pnid, wamid, err := mediaParams(c)
	if err != nil {
		return err
	}
	_, job, err := h.deps.Media.MessageMedia(ctx(c), pnid, wamid)
	if errors.Is(err, store.ErrNotFound) {
		return errNoMedia // also another number's message: its number must be named
	}
	if err != nil {
		return err
	}
	if job == nil || job.State != models.MediaDone {
		return errNoMedia
	}
	obj, err := h.deps.Media.OpenMedia(ctx(c), job.SHA256)
	if errors.Is(err, media.ErrNotStored) {
		return errNoMedia
	}
	if err != nil {
		return err
	}
	defer obj.Close()
	mimeType, disposition := mediaHeaders(job)
	hd := c.Response().Header()
	hd.Set("Content-Type", mimeType)
	hd.Set("Content-Disposition", disposition)
	hd.Set("X-Content-Type-Options", "nosniff")
	// Revalidated every time (the ETag makes that a 304): customer media must not outlive a
	// signed-out or disabled account in a shared browser's cache.
	hd.Set("Cache-Control", "private, no-cache")
	hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	hd.Set("ETag", `"`+job.SHA256+`"`)
	if strings.Contains(c.Request().Header.Get("Range"), ",") {
		// One range per request is what players and viewers ask for; many ranges would
		// each cost a storage read (an S3 GET per range).
		c.Request().Header.Del("Range")
	}
	http.ServeContent(c.Response(), c.Request(), "", obj.ModTime(), obj)
	return nil
}

// mediaHeaders picks the Content-Type and Content-Disposition of a stored file: raster
// images, audio and video inline with their type; everything else (documents, SVG, HTML, …)
// as an attachment with its original file name.
func mediaHeaders(j *models.MediaJob) (mimeType, disposition string) {
	mimeType = j.StoredMimeType
	if mimeType == "" {
		mimeType = j.MimeType
	}
	base, params, err := mime.ParseMediaType(mimeType)
	if err != nil {
		base, params = "application/octet-stream", nil
	}
	mimeType = mime.FormatMediaType(base, params)
	if mimeType == "" {
		mimeType = base
	}
	inline := j.Kind != "document" && (components.InlineImageType(base) ||
		strings.HasPrefix(base, "audio/") || strings.HasPrefix(base, "video/"))
	if inline {
		return mimeType, "inline"
	}
	name := safeFilename(j.Filename)
	if name == "" {
		name = "media-" + j.MediaID + extensionFor(base)
	}
	if d := mime.FormatMediaType("attachment", map[string]string{"filename": name}); d != "" {
		return mimeType, d
	}
	return mimeType, "attachment"
}

// safeFilename keeps the last path element of name without control characters, quotes or
// backslashes, at most 150 bytes.
func safeFilename(name string) string {
	name = strings.ReplaceAll(name, `\`, "/")
	name = path.Base("/" + name)
	name = strings.Map(func(r rune) rune {
		if r == '"' || r == '/' || r == unicode.ReplacementChar {
			return -1
		}
		return dropDisguise(r)
	}, name)
	name = strings.TrimSpace(strings.Trim(name, "."))
	if name == "" || name == "/" {
		return ""
	}
	if len(name) > 150 {
		name = clipUTF8(name, 150)
	}
	return name
}

// dropDisguise drops (-1) control characters, format characters (U+202E right-to-left
// override, zero-width ones) and line separators, which could make "invoice\u202Efdp.exe"
// read as a PDF; for strings.Map.
func dropDisguise(r rune) rune {
	if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
		return -1
	}
	return r
}

func clipUTF8(s string, n int) string {
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

func extensionFor(mimeType string) string {
	switch mimeType {
	case "application/pdf":
		return ".pdf"
	case "image/jpeg":
		return ".jpg"
	case "image/png":
		return ".png"
	case "audio/ogg":
		return ".ogg"
	case "video/mp4":
		return ".mp4"
	}
	if exts, _ := mime.ExtensionsByType(mimeType); len(exts) > 0 {
		return exts[0]
	}
	return ""
}

// retryMedia lets a failed or expired download run again (admins): POST
// /messages/:wamid/media/retry?phone_number_id=; answers the media fragment.
func (h *Handlers) retryMedia(c echo.Context) error {
	if h.deps.Media == nil {
		return apperr.New(apperr.Unavailable, "Media are not available.")
	}
	pnid, wamid, err := mediaParams(c)
	if err != nil {
		return err
	}
	m, job, err := h.deps.Media.MessageMedia(ctx(c), pnid, wamid)
	if errors.Is(err, store.ErrNotFound) || err == nil && job == nil {
		return errNoMedia
	}
	if err != nil {
		return err
	}
	if err := h.deps.Media.RequeueMediaJob(ctx(c), pnid, job.MediaID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if h.deps.WakeMedia != nil {
		h.deps.WakeMedia()
	}
	_, job, err = h.deps.Media.MessageMedia(ctx(c), pnid, wamid)
	if err != nil {
		return err
	}
	v := mediaViewOf(pnid, store.ThreadMessage{WAMID: m.WAMID, Type: m.Type, TS: m.TS, MediaID: m.MediaID, MimeType: m.MimeType, Raw: m.Raw},
		job, nil, h.deps.Now(), true)
	return render(c, http.StatusOK, components.Media(*v))
}

// mediaViewOf is the thread view's media of a message, nil when it carries none. job is
// its download job (nil when it has none), onboardedAt the number's onboarding time (nil:
// unknown, now is used), admin whether Retry is offered.
func mediaViewOf(pnid string, m store.ThreadMessage, job *models.MediaJob, onboardedAt *time.Time, now time.Time, admin bool) *components.MediaView {
	kind := m.Type
	if kind == "media_placeholder" {
		kind = "media"
	}
	switch kind {
	case "image", "video", "audio", "document", "sticker", "media":
	default:
		if m.MediaID == "" {
			return nil
		}
	}
	v := &components.MediaView{Kind: kind, MediaID: m.MediaID, MimeType: m.MimeType, State: mediaStateOf(m, job, onboardedAt, now)}
	info := rawMediaInfo(m.Type, m.Raw)
	v.Voice, v.Filename = info.Voice, info.Filename
	if job != nil {
		if job.Filename != "" {
			v.Filename = job.Filename
		}
	}
	// Shown as sent, less the characters that would disguise it (the raw JSON keeps them).
	v.Filename = strings.Map(dropDisguise, v.Filename)
	if job != nil {
		if job.StoredMimeType != "" {
			v.MimeType = job.StoredMimeType
		}
		v.Size = job.Size
		if job.State != models.MediaDone {
			v.Reason = job.Error
		}
		if admin && (job.State == models.MediaFailed || job.State == models.MediaExpired) {
			v.RetryURL = mediaPath(pnid, m.WAMID) + "/retry?" + url.Values{"phone_number_id": {pnid}}.Encode()
		}
	}
	if v.State == components.MediaStateStored {
		v.URL = mediaPath(pnid, m.WAMID) + "?" + url.Values{"phone_number_id": {pnid}}.Encode()
	}
	return v
}

func mediaPath(pnid, wamid string) string { return "/messages/" + url.PathEscape(wamid) + "/media" }

// mediaStateOf says where a message's media stands.
func mediaStateOf(m store.ThreadMessage, job *models.MediaJob, onboardedAt *time.Time, now time.Time) string {
	if job != nil {
		switch job.State {
		case models.MediaDone:
			return components.MediaStateStored
		case models.MediaFailed:
			return components.MediaStateFailed
		case models.MediaExpired:
			return components.MediaStateExpired
		case models.MediaPurged:
			return components.MediaStatePurged
		}
		return components.MediaStateDownloading
	}
	if m.MediaID != "" {
		return components.MediaStateDownloading
	}
	ref := now
	if onboardedAt != nil {
		ref = *onboardedAt
	}
	if time.Unix(m.TS, 0).Before(ref.Add(-mediaWindowBeforeOnboarding)) {
		return components.MediaStateUnavailable
	}
	return components.MediaStateAwaiting
}

type mediaRawInfo struct {
	Voice    bool   `json:"voice"`
	Filename string `json:"filename"`
	SHA256   string `json:"sha256"`
}

func rawMediaInfo(typ, raw string) mediaRawInfo {
	var info mediaRawInfo
	if raw == "" || !strings.Contains(raw, typ) {
		return info
	}
	var m map[string]json.RawMessage
	if json.Unmarshal([]byte(raw), &m) == nil {
		_ = json.Unmarshal(m[typ], &info)
	}
	return info
}

// mediaJSON is a message's media in the API: {state, mime_type, size, sha256, filename, url};
// the message JSON carries null when the message has no media.
type mediaJSON struct {
	State    string `json:"state"`
	MimeType string `json:"mime_type"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
	Filename string `json:"filename"`
	URL      string `json:"url"`
}

// mediaJSONOf is the API's media of a message, nil when it carries none.
func mediaJSONOf(pnid string, m store.ThreadMessage, job *models.MediaJob, onboardedAt *time.Time, now time.Time) *mediaJSON {
	v := mediaViewOf(pnid, m, job, onboardedAt, now, false)
	if v == nil {
		return nil
	}
	out := &mediaJSON{State: v.State, MimeType: v.MimeType, Size: v.Size, Filename: v.Filename}
	if job != nil && job.State == models.MediaDone {
		out.SHA256 = job.SHA256
		out.URL = "/api/v1" + mediaPath(pnid, m.WAMID) + "?" + url.Values{"phone_number_id": {pnid}}.Encode()
	}
	return out
}

// mediaJobsFor reads the download jobs of the messages' media ids (nil without media).
func (h *Handlers) mediaJobsFor(c echo.Context, pnid string, msgs []store.ThreadMessage) (map[string]models.MediaJob, error) {
	if h.deps.Media == nil {
		return nil, nil
	}
	var ids []string
	for _, m := range msgs {
		if m.MediaID != "" {
			ids = append(ids, m.MediaID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return h.deps.Media.MediaJobs(ctx(c), pnid, ids)
}

// jobOf returns the job of m's media id, or nil.
func jobOf(jobs map[string]models.MediaJob, m store.ThreadMessage) *models.MediaJob {
	if m.MediaID == "" {
		return nil
	}
	if j, ok := jobs[m.MediaID]; ok {
		return &j
	}
	return nil
}

// chatMedia reads what the thread view needs for the media of a page: the jobs, the
// number's onboarding time and whether the reader may retry.
func (h *Handlers) chatMedia(c echo.Context, pnid string, msgs []store.ThreadMessage) (map[string]models.MediaJob, *time.Time, bool, error) {
	jobs, err := h.mediaJobsFor(c, pnid, msgs)
	if err != nil {
		return nil, nil, false, err
	}
	var onboarded *time.Time
	if idx, _, err := h.numberIndex(c); err == nil {
		if n, ok := idx[pnid]; ok {
			onboarded = n.OnboardedAt
		}
	}
	p, _ := principal(c)
	return jobs, onboarded, p.IsAdmin(), nil
}

// mediaSummary is the number page's media row; nil when it cannot be read.
func (h *Handlers) mediaSummary(c echo.Context, pnid string) *components.MediaSummary {
	if h.deps.Media == nil {
		return nil
	}
	st, err := h.deps.Media.MediaStats(ctx(c), pnid)
	if err != nil {
		h.deps.Logger.Warn("media stats not read", "err", err)
		return nil
	}
	return &components.MediaSummary{
		Stored: st.Stored, Bytes: st.UniqueBytes,
		Downloading: st.ByState[models.MediaPending] + st.ByState[models.MediaProcessing],
		Failed:      st.ByState[models.MediaFailed] + st.ByState[models.MediaExpired],
	}
}
