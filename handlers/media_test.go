package handlers_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"coexhistory/internal/apptest"
	"coexhistory/internal/coex"
	"coexhistory/internal/registry"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
	"coexhistory/views/components"
)

const (
	medPNID  = "623400011122299"
	medPNID2 = "623400011122288"
	medWAID  = "5511912345678"
)

type medFile struct {
	wamid, typ, mediaID, mime, filename string
	body                                []byte
	state                               string // final job state; "" leaves it pending
}

func medMessage(f medFile, ts int64) coex.Message {
	obj := map[string]any{"id": f.mediaID, "mime_type": f.mime}
	if f.filename != "" {
		obj["filename"] = f.filename
	}
	if f.typ == "audio" {
		obj["voice"] = true
	}
	raw, _ := json.Marshal(map[string]any{"from": medWAID, "id": f.wamid, "timestamp": fmt.Sprint(ts), "type": f.typ, f.typ: obj})
	return coex.Message{WAMID: f.wamid, ContactWAID: medWAID, Direction: coex.DirectionInbound, Type: f.typ, Timestamp: ts,
		Origin: coex.OriginLive, MediaID: f.mediaID, MimeType: f.mime, Raw: raw}
}

// mediaApp stores messages with media on medPNID (and one on medPNID2) and the files of
// those whose state is done.
func mediaApp(t *testing.T, dialect string, files []medFile) *apptest.App {
	t.Helper()
	app := apptest.New(t, dialect, apptest.Options{})
	ctx := context.Background()
	for i, pnid := range []string{medPNID, medPNID2} {
		if _, err := app.Services.Registry.Create(ctx, registry.Actor{Name: "test"}, registry.Input{
			Label: "Loja " + fmt.Sprint(i), DisplayPhoneNumber: "551198765000" + fmt.Sprint(i), PhoneNumberID: pnid, WABAID: "810023456789012",
			Provider: models.ProviderMeta, AccessToken: "EAAGmediaTOKEN0123456789",
		}); err != nil {
			t.Fatal(err)
		}
	}
	ts := time.Now().Add(-time.Hour).Unix()
	// Jobs left pending go last, so that claiming the others never takes them.
	sort.SliceStable(files, func(i, j int) bool { return files[i].state != "" && files[j].state == "" })
	for i, f := range files {
		pnid := medPNID
		if strings.HasPrefix(f.wamid, "other.") {
			pnid = medPNID2
		}
		if _, err := app.DB.ApplyMessages(ctx, pnid, []coex.Message{medMessage(f, ts+int64(i))}); err != nil {
			t.Fatal(err)
		}
		if f.state == "" {
			continue
		}
		jobs, err := app.DB.ClaimMediaJobs(ctx, "test", time.Minute, 1)
		if err != nil || len(jobs) != 1 || jobs[0].MediaID != f.mediaID {
			t.Fatalf("claim %s: %+v %v", f.mediaID, jobs, err)
		}
		switch f.state {
		case models.MediaDone:
			st, err := app.Services.MediaStorage.Put(ctx, bytes.NewReader(f.body), "", f.mime, 0)
			if err != nil {
				t.Fatal(err)
			}
			err = app.DB.CompleteMediaJob(ctx, jobs[0].ID, "test", st.SHA256, st.Size, f.mime)
			if err != nil {
				t.Fatal(err)
			}
		default:
			if err := app.DB.EndMediaJob(ctx, jobs[0].ID, "test", f.state, "media lookup: HTTP 400 code 100: gone"); err != nil {
				t.Fatal(err)
			}
		}
	}
	return app
}

var (
	pngBytes = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 5000)...)
	pdfBytes = []byte("%PDF-1.4\n%fake\n")
	svgBytes = []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)
	oggBytes = append([]byte("OggS"), bytes.Repeat([]byte{1, 2, 3, 4}, 10000)...)
)

func medFiles() []medFile {
	return []medFile{
		{wamid: "wamid.img", typ: "image", mediaID: "7001", mime: "image/png", body: pngBytes, state: models.MediaDone},
		{wamid: "wamid.doc", typ: "document", mediaID: "7002", mime: "application/pdf", filename: `relatório "final"/../x.pdf`, body: pdfBytes, state: models.MediaDone},
		{wamid: "wamid.svg", typ: "image", mediaID: "7003", mime: "image/svg+xml", body: svgBytes, state: models.MediaDone},
		{wamid: "wamid.ogg", typ: "audio", mediaID: "7004", mime: "audio/ogg; codecs=opus", body: oggBytes, state: models.MediaDone},
		{wamid: "wamid.fail", typ: "video", mediaID: "7005", mime: "video/mp4", state: models.MediaFailed},
		{wamid: "wamid.exp", typ: "image", mediaID: "7006", mime: "image/jpeg", state: models.MediaExpired},
		{wamid: "wamid.wait", typ: "image", mediaID: "7007", mime: "image/jpeg"},
		{wamid: "other.img", typ: "image", mediaID: "7101", mime: "image/png", body: pngBytes, state: models.MediaDone},
	}
}

func mediaURL(api bool, wamid, pnid string) string {
	p := "/messages/" + url.PathEscape(wamid) + "/media?phone_number_id=" + pnid
	if api {
		return "/api/v1" + p
	}
	return p
}

func TestMediaServedToStaffAndTokensOnly(t *testing.T) {
	eachDialect(t, func(t *testing.T, dialect string) {
		app := mediaApp(t, dialect, medFiles())
		agent := app.Login(apptest.AgentEmail)
		token := app.Token(models.RoleAgent)

		// Nobody else gets a byte.
		// (The file's signature, not the letters "PNG": an error answer's random request id may hold those.)
		if res, body := app.Anonymous().Get(mediaURL(false, "wamid.img", medPNID), nil); res.StatusCode == http.StatusOK || strings.Contains(body, "\x89PNG") {
			t.Fatalf("anonymous staff route: %d", res.StatusCode)
		}
		if res, _ := app.API(http.MethodGet, mediaURL(true, "wamid.img", medPNID), "", nil); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("API without token: %d", res.StatusCode)
		}
		if res, _ := app.API(http.MethodGet, mediaURL(true, "wamid.img", medPNID), "not-a-token", nil); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("API with a bad token: %d", res.StatusCode)
		}
		// Another number's media: naming the wrong number finds nothing.
		for _, u := range []string{mediaURL(true, "other.img", medPNID), mediaURL(true, "wamid.img", medPNID2), mediaURL(true, "wamid.img", "")} {
			if res, body := app.API(http.MethodGet, u, token, nil); res.StatusCode == http.StatusOK || strings.Contains(body, "\x89PNG") {
				t.Fatalf("%s: %d: %.300q", u, res.StatusCode, body)
			}
		}

		for _, api := range []bool{false, true} {
			get := func(wamid string, h http.Header) (*http.Response, string) {
				if api {
					req, _ := http.NewRequest(http.MethodGet, app.Server.URL+mediaURL(true, wamid, medPNID), nil)
					req.Header.Set("Authorization", "Bearer "+token)
					for k, v := range h {
						req.Header[k] = v
					}
					res, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					defer res.Body.Close()
					var b bytes.Buffer
					_, _ = b.ReadFrom(res.Body)
					return res, b.String()
				}
				return agent.Get(mediaURL(false, wamid, medPNID), h)
			}
			res, body := get("wamid.img", nil)
			if res.StatusCode != http.StatusOK || body != string(pngBytes) {
				t.Fatalf("api=%v image: %d %d bytes", api, res.StatusCode, len(body))
			}
			h := res.Header
			if h.Get("Content-Type") != "image/png" || h.Get("X-Content-Type-Options") != "nosniff" ||
				!strings.HasPrefix(h.Get("Cache-Control"), "private") || h.Get("Content-Disposition") != "inline" ||
				!strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
				t.Fatalf("api=%v image headers: %v", api, h)
			}
			// Ranges (audio and video seek).
			res, body = get("wamid.ogg", http.Header{"Range": {"bytes=4-11"}})
			if res.StatusCode != http.StatusPartialContent || body != string(oggBytes[4:12]) ||
				res.Header.Get("Content-Range") != fmt.Sprintf("bytes 4-11/%d", len(oggBytes)) || res.Header.Get("Content-Type") != "audio/ogg; codecs=opus" {
				t.Fatalf("api=%v range: %d %q %v", api, res.StatusCode, body, res.Header)
			}
			// Many ranges in one request are served as the whole file, not one storage
			// read per range.
			res, body = get("wamid.ogg", http.Header{"Range": {"bytes=0-0,2-2,4-4"}})
			if res.StatusCode != http.StatusOK || body != string(oggBytes) || res.Header.Get("Cache-Control") != "private, no-cache" {
				t.Fatalf("api=%v multi-range: %d %v", api, res.StatusCode, res.Header)
			}
			// Documents are attachments with their name, safely encoded.
			res, body = get("wamid.doc", nil)
			cd := res.Header.Get("Content-Disposition")
			if res.StatusCode != http.StatusOK || body != string(pdfBytes) || !strings.HasPrefix(cd, "attachment;") ||
				!strings.Contains(cd, "filename*=utf-8''x.pdf") && !strings.Contains(cd, `filename=x.pdf`) {
				t.Fatalf("api=%v document: %d %q", api, res.StatusCode, cd)
			}
			// An SVG "image" is never shown inline: it could run script in our origin.
			res, _ = get("wamid.svg", nil)
			if !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") {
				t.Fatalf("api=%v svg disposition %q", api, res.Header.Get("Content-Disposition"))
			}
			// Not stored (yet, or never): 404.
			for _, w := range []string{"wamid.fail", "wamid.exp", "wamid.wait", "wamid.none"} {
				if res, _ := get(w, nil); res.StatusCode != http.StatusNotFound {
					t.Fatalf("api=%v %s: %d", api, w, res.StatusCode)
				}
			}
		}
	})
}

func TestDocumentFilenameEncoded(t *testing.T) {
	eachDialect(t, func(t *testing.T, dialect string) {
		app := mediaApp(t, dialect, []medFile{{wamid: "wamid.doc", typ: "document", mediaID: "7002", mime: "application/pdf",
			filename: "relatório \"final\"\r\n.pdf", body: pdfBytes, state: models.MediaDone}})
		res, _ := app.Login(apptest.AgentEmail).Get(mediaURL(false, "wamid.doc", medPNID), nil)
		cd := res.Header.Get("Content-Disposition")
		if !strings.HasPrefix(cd, "attachment; filename*=utf-8''relat%C3%B3rio%20final.pdf") || strings.ContainsAny(cd, "\r\n\"") {
			t.Fatalf("disposition %q", cd)
		}
	})
}

func TestMessageJSONCarriesMedia(t *testing.T) {
	eachDialect(t, func(t *testing.T, dialect string) {
		app := mediaApp(t, dialect, medFiles())
		threads, err := app.DB.ListThreads(context.Background(), store.ThreadFilter{PhoneNumberID: medPNID, Limit: 10})
		if err != nil || len(threads.Threads) != 1 {
			t.Fatalf("threads: %+v %v", threads, err)
		}
		res, body := app.API(http.MethodGet, fmt.Sprintf("/api/v1/threads/%d/messages", threads.Threads[0].ID), app.Token(models.RoleAgent), nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", res.StatusCode, body)
		}
		var page struct {
			Data []struct {
				WAMID string           `json:"wamid"`
				Media *json.RawMessage `json:"media"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(body), &page); err != nil {
			t.Fatal(err)
		}
		got := map[string]map[string]any{}
		for _, m := range page.Data {
			if m.Media == nil {
				t.Fatalf("%s: media missing (want an object or null)", m.WAMID)
			}
			var v map[string]any
			_ = json.Unmarshal(*m.Media, &v)
			got[m.WAMID] = v
		}
		sum := sha256.Sum256(pngBytes)
		img := got["wamid.img"]
		if img["state"] != "stored" || img["mime_type"] != "image/png" || img["size"] != float64(len(pngBytes)) ||
			img["sha256"] != hex.EncodeToString(sum[:]) || img["url"] != "/api/v1/messages/wamid.img/media?phone_number_id="+medPNID {
			t.Fatalf("image media: %v", img)
		}
		if d := got["wamid.doc"]; d["filename"] != `relatório "final"/../x.pdf` {
			t.Fatalf("document media: %v", d)
		}
		if f := got["wamid.fail"]; f["state"] != "failed" || f["url"] != "" {
			t.Fatalf("failed media: %v", f)
		}
		if got["wamid.exp"]["state"] != "expired" || got["wamid.wait"]["state"] != "downloading" {
			t.Fatalf("states: %v", got)
		}
		// The URL works with the token.
		if res, _ := app.API(http.MethodGet, img["url"].(string), app.Token(models.RoleAgent), nil); res.StatusCode != http.StatusOK {
			t.Fatalf("media url: %d", res.StatusCode)
		}
	})
}

func TestThreadShowsMediaAndAdminsRetry(t *testing.T) {
	eachDialect(t, func(t *testing.T, dialect string) {
		app := mediaApp(t, dialect, medFiles())
		threads, _ := app.DB.ListThreads(context.Background(), store.ThreadFilter{PhoneNumberID: medPNID, Limit: 10})
		path := fmt.Sprintf("/threads/%d", threads.Threads[0].ID)
		agent := app.Login(apptest.AgentEmail)
		res, body := agent.Get(path, nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("thread: %d", res.StatusCode)
		}
		d, _ := goquery.NewDocumentFromReader(strings.NewReader(body))
		bubble := func(w string) *goquery.Selection { return d.Find(`[data-wamid="` + w + `"] [data-testid=media]`) }
		if src, _ := bubble("wamid.img").Find("img[data-testid=media-image]").Attr("src"); src != mediaURL(false, "wamid.img", medPNID) {
			t.Fatalf("image src %q", src)
		}
		if v, _ := bubble("wamid.img").Find("img").Attr("loading"); v != "lazy" {
			t.Fatal("image not lazy")
		}
		if bubble("wamid.svg").Find("img").Length() != 0 {
			t.Fatal("an SVG is shown inline")
		}
		if src, _ := bubble("wamid.ogg").Find("audio source").Attr("src"); src != mediaURL(false, "wamid.ogg", medPNID) {
			t.Fatalf("audio %q", src)
		}
		if !strings.Contains(bubble("wamid.ogg").Text(), "voice note") && bubble("wamid.ogg").Find("audio").Length() != 1 {
			t.Fatal("voice note")
		}
		doc := bubble("wamid.doc")
		if doc.Find("[data-testid=media-filename]").Text() != `relatório "final"/../x.pdf` || doc.Find("[data-testid=media-download]").Length() != 1 {
			t.Fatalf("document card %q", doc.Text())
		}
		for w, state := range map[string]string{"wamid.fail": "failed", "wamid.exp": "expired", "wamid.wait": "downloading"} {
			if s, _ := bubble(w).Attr("data-state"); s != state {
				t.Fatalf("%s state %q", w, s)
			}
		}
		if !strings.Contains(bubble("wamid.fail").Text(), "gone") {
			t.Fatalf("failed line %q", bubble("wamid.fail").Text())
		}
		if d.Find("[data-testid=media-retry]").Length() != 0 {
			t.Fatal("an agent is offered Retry")
		}
		if strings.Contains(body, "style=") {
			t.Fatal("inline style in the thread page")
		}
		// Agents cannot retry; admins can (with the CSRF token).
		retry := "/messages/wamid.fail/media/retry?phone_number_id=" + medPNID
		if res, _ := agent.PostForm(retry, nil, apptest.HX()); res.StatusCode != http.StatusForbidden {
			t.Fatalf("agent retry: %d", res.StatusCode)
		}
		admin := app.Login(apptest.AdminEmail)
		_, body = admin.Get(path, nil)
		d, _ = goquery.NewDocumentFromReader(strings.NewReader(body))
		if hx, _ := d.Find(`[data-wamid="wamid.fail"] [data-testid=media-retry]`).Attr("hx-post"); hx != retry {
			t.Fatalf("admin retry button %q", hx)
		}
		if d.Find(`[data-wamid="wamid.wait"] [data-testid=media-retry]`).Length() != 0 {
			t.Fatal("Retry offered for a download in progress")
		}
		noCSRF := &http.Client{Jar: admin.HTTP.Jar}
		req, _ := http.NewRequest(http.MethodPost, app.Server.URL+retry, nil)
		if res, err := noCSRF.Do(req); err != nil || res.StatusCode != http.StatusForbidden {
			t.Fatalf("retry without CSRF: %v %v", res.StatusCode, err)
		}
		res, body = admin.PostForm(retry, nil, apptest.HX())
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `data-state="downloading"`) {
			t.Fatalf("admin retry: %d %s", res.StatusCode, body)
		}
		j, _ := app.DB.MediaJob(context.Background(), medPNID, "7005")
		if j.State != models.MediaPending {
			t.Fatalf("job after retry: %+v", j)
		}
	})
}

func eachDialect(t *testing.T, fn func(t *testing.T, dialect string)) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) { fn(t, d) })
	}
}

func TestNumberPageShowsMediaStored(t *testing.T) {
	eachDialect(t, func(t *testing.T, dialect string) {
		app := mediaApp(t, dialect, medFiles())
		ns, err := app.Services.Registry.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var id uint64
		for _, n := range ns {
			if n.PhoneNumberID == medPNID {
				id = n.ID
			}
		}
		res, body := app.Login(apptest.AgentEmail).Get(fmt.Sprintf("/numbers/%d", id), nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("number page: %d", res.StatusCode)
		}
		d, _ := goquery.NewDocumentFromReader(strings.NewReader(body))
		want := HumanSizeOf(int64(len(pngBytes) + len(pdfBytes) + len(svgBytes) + len(oggBytes)))
		if got := d.Find("[data-testid=number-media-count]").Text(); got != "4" {
			t.Fatalf("media count %q", got)
		}
		if got := d.Find("[data-testid=number-media-bytes]").Text(); got != want {
			t.Fatalf("media bytes %q, want %q", got, want)
		}
		if txt := strings.Join(strings.Fields(d.Find("[data-testid=number-media]").Text()), " "); !strings.Contains(txt, "1 downloading") || !strings.Contains(txt, "2 failed or expired") {
			t.Fatalf("media row %q", txt)
		}
	})
}

// HumanSizeOf is components.HumanSize (kept here so the test states the expected text).
func HumanSizeOf(n int64) string { return components.HumanSize(n) }
