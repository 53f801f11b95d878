package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"coexhistory/internal/sim"
	"coexhistory/internal/store"
	"coexhistory/internal/webhook"
	"coexhistory/models"
)

// MediaOptions configure the media download benchmark. Zero fields take defaults.
type MediaOptions struct {
	Images      int   // ~50 KB images; default 1,700
	Voice       int   // ~300 KB voice notes; default 292
	Videos      int   // 16 MB videos; default 8
	Concurrency int   // downloads at once, the server's COEX_MEDIA_WORKERS; default 4
	Seed        int64 // sizes; default 1
}

func (o MediaOptions) withDefaults() MediaOptions {
	if o.Images == 0 && o.Voice == 0 && o.Videos == 0 {
		o.Images, o.Voice, o.Videos = 1700, 292, 8
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	return o
}

// MediaTarget is the coexhistory server that downloads: started by the caller with
// COEX_GRAPH_BASE_URL pointing at the simulator the benchmark runs (MediaSimulator).
type MediaTarget struct {
	URL        string
	AppSecret  string
	AdminToken string // an admin API token, to register the benchmark's number
	PeakRSS    func() (int64, error)
}

// MediaReport is what the media benchmark measured.
type MediaReport struct {
	Files          int
	Bytes          int64
	Baseline       time.Duration // plain io.Copy of the same bytes from the same simulator, same concurrency
	Pipeline       time.Duration // first webhook posted → every job done
	Posted         time.Duration // → every media webhook answered
	Ingested       time.Duration // → every job created (seen at the 20 ms polls)
	Done, Failed   int
	PeakRSS        int64
	AckIdle, AckDl AckStats // small webhooks answered before and during the downloads
}

// Ratio is the pipeline's throughput over the baseline's.
func (r MediaReport) Ratio() float64 {
	if r.Pipeline <= 0 {
		return 0
	}
	return r.Baseline.Seconds() / r.Pipeline.Seconds()
}

// MediaSimulator is the simulator a media benchmark downloads from, on a loopback port.
type MediaSimulator struct {
	Sim   *sim.Server
	URL   string
	files []sim.MediaFile
	srv   *httptest.Server
}

// StartMediaSimulator serves the benchmark's files: deterministic bytes of the sizes of
// o, under media ids bench-…
func StartMediaSimulator(o MediaOptions) (*MediaSimulator, error) {
	o = o.withDefaults()
	s := sim.NewServer(sim.ServerConfig{AcceptUnknownNumbers: true})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := httptest.NewUnstartedServer(s)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	rng := rand.New(rand.NewPCG(uint64(o.Seed), 7))
	var files []sim.MediaFile
	add := func(n int, mime string, size func() int64) {
		for range n {
			files = append(files, sim.MediaFile{ID: strconv.Itoa(8_000_000_000 + len(files)), MimeType: mime, Size: size()})
		}
	}
	add(o.Images, "image/jpeg", func() int64 { return 30_000 + rng.Int64N(40_000) })
	add(o.Voice, "audio/ogg", func() int64 { return 200_000 + rng.Int64N(200_000) })
	add(o.Videos, "video/mp4", func() int64 { return 16 << 20 })
	rng.Shuffle(len(files), func(i, j int) { files[i], files[j] = files[j], files[i] })
	for _, f := range files {
		s.AddMedia(f)
	}
	return &MediaSimulator{Sim: s, URL: srv.URL, files: files, srv: srv}, nil
}

// Close stops the simulator.
func (m *MediaSimulator) Close() { m.srv.Close(); m.Sim.Close() }

const benchMediaToken = "bench-media-token-0123456789"

// Media runs the benchmark: the plain io.Copy baseline, then the server's whole pipeline
// (webhooks with the media ids → jobs created at ingest → downloads → stored, verified),
// with webhook answer times measured before and during the downloads.
func Media(ctx context.Context, db *store.DB, ms *MediaSimulator, target MediaTarget, o MediaOptions, w io.Writer) (MediaReport, error) {
	o = o.withDefaults()
	rep := MediaReport{Files: len(ms.files)}
	for _, f := range ms.files {
		rep.Bytes += f.Size
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	fmt.Fprintf(w, "media benchmark: %d files, %s (%d images ~50 KB, %d voice notes ~300 KB, %d videos of 16 MB), %d at once\n",
		rep.Files, mb(rep.Bytes), o.Images, o.Voice, o.Videos, o.Concurrency)

	// Warm-up: the simulator hashes each file once, on its first lookup.
	if _, err := copyAll(ctx, client, ms, o.Concurrency, true); err != nil {
		return rep, fmt.Errorf("warm-up: %w", err)
	}
	var err error
	if rep.Baseline, err = copyAll(ctx, client, ms, o.Concurrency, false); err != nil {
		return rep, fmt.Errorf("baseline: %w", err)
	}
	fmt.Fprintf(w, "baseline  plain io.Copy (lookup + GET + io.Copy to io.Discard): %s, %s/s\n", seconds(rep.Baseline), mb(int64(float64(rep.Bytes)/rep.Baseline.Seconds())))

	pnid := "9" + strconv.FormatInt(time.Now().UnixNano()%1e13, 10)
	if err := registerBenchNumber(ctx, client, target, pnid); err != nil {
		return rep, err
	}
	defer func() { _ = cleanupMedia(context.WithoutCancel(ctx), db, pnid) }()

	// Webhook answers on an idle server.
	if rep.AckIdle, err = pingWebhooks(ctx, client, target, pnid, 40, nil); err != nil {
		return rep, err
	}

	start := time.Now()
	bodies := mediaWebhooks(pnid, ms.files, 50)
	for _, b := range bodies {
		if _, _, err := deliver(ctx, client, []string{target.URL + "/webhooks/whatsapp"}, 0, b, webhook.Sign([]byte(target.AppSecret), b)); err != nil {
			return rep, fmt.Errorf("post media webhook: %w", err)
		}
	}
	posted := time.Now()
	stop := make(chan struct{})
	var ackErr error
	var ackWG sync.WaitGroup
	ackWG.Add(1)
	go func() {
		defer ackWG.Done()
		rep.AckDl, ackErr = pingWebhooks(ctx, client, target, pnid, 1000, stop)
	}()
	var ingested time.Time
	rep.Done, rep.Failed, ingested, err = waitMedia(ctx, db, pnid, rep.Files)
	rep.Pipeline = time.Since(start)
	rep.Ingested = ingested.Sub(start)
	rep.Posted = posted.Sub(start)
	close(stop)
	ackWG.Wait()
	if err != nil {
		return rep, err
	}
	if ackErr != nil {
		return rep, ackErr
	}
	if target.PeakRSS != nil {
		rep.PeakRSS, _ = target.PeakRSS()
	}
	printMediaSummary(w, rep)
	return rep, nil
}

// copyAll downloads every file like the server does (the media-id lookup, then the URL)
// into io.Discard, concurrency at once.
func copyAll(ctx context.Context, client *http.Client, ms *MediaSimulator, concurrency int, lookupOnly bool) (time.Duration, error) {
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, concurrency)
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ms.files) || ctx.Err() != nil {
					return
				}
				if err := copyOne(ctx, client, ms.URL, ms.files[i], lookupOnly); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return time.Since(start), <-errs
}

func copyOne(ctx context.Context, client *http.Client, base string, f sim.MediaFile, lookupOnly bool) error {
	get := func(u string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+benchMediaToken)
		resp, err := client.Do(req)
		if err == nil && resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("GET %s: %d", f.ID, resp.StatusCode)
		}
		return resp, err
	}
	resp, err := get(base + "/v25.0/" + f.ID)
	if err != nil {
		return err
	}
	var lk struct {
		URL string `json:"url"`
	}
	err = json.NewDecoder(resp.Body).Decode(&lk)
	resp.Body.Close()
	if err != nil || lookupOnly {
		return err
	}
	resp, err = get(lk.URL)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err == nil && n != f.Size {
		err = fmt.Errorf("%s: %d of %d bytes", f.ID, n, f.Size)
	}
	return err
}

// registerBenchNumber adds the benchmark's Meta number through the API.
func registerBenchNumber(ctx context.Context, client *http.Client, t MediaTarget, pnid string) error {
	body, _ := json.Marshal(map[string]string{
		"label": "bench media " + pnid, "display_phone_number": "55119" + pnid[len(pnid)-8:], "phone_number_id": pnid,
		"waba_id": "810023456789012", "provider": models.ProviderMeta, "access_token": benchMediaToken,
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL+"/api/v1/numbers", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+t.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("register the benchmark number: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 2000))
		return fmt.Errorf("register the benchmark number: %d %s", resp.StatusCode, b)
	}
	return nil
}

// mediaWebhooks are live messages webhooks carrying the files, per to a body.
func mediaWebhooks(pnid string, files []sim.MediaFile, per int) [][]byte {
	var out [][]byte
	for start := 0; start < len(files); start += per {
		var msgs []map[string]any
		for i, f := range files[start:min(len(files), start+per)] {
			typ := map[string]string{"image/jpeg": "image", "audio/ogg": "audio", "video/mp4": "video"}[f.MimeType]
			msgs = append(msgs, map[string]any{
				"from": "5511900000001", "id": fmt.Sprintf("wamid.benchmedia.%s.%d", pnid, start+i),
				"timestamp": strconv.FormatInt(time.Now().Unix(), 10), "type": typ,
				typ: map[string]any{"id": f.ID, "mime_type": f.MimeType},
			})
		}
		out = append(out, liveEnvelope(pnid, msgs))
	}
	return out
}

func liveEnvelope(pnid string, msgs []map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"object": "whatsapp_business_account", "entry": []any{map[string]any{
		"id": "810023456789012", "changes": []any{map[string]any{"field": "messages", "value": map[string]any{
			"messaging_product": "whatsapp",
			"metadata":          map[string]string{"display_phone_number": "55119" + pnid[len(pnid)-8:], "phone_number_id": pnid},
			"contacts":          []any{map[string]any{"wa_id": "5511900000001", "profile": map[string]string{"name": "Bench"}}},
			"messages":          msgs,
		}}},
	}}})
	return b
}

// pingWebhooks posts small live text webhooks, one every 25 ms, n in all or until stop
// closes, and returns their answer times.
func pingWebhooks(ctx context.Context, client *http.Client, t MediaTarget, pnid string, n int, stop <-chan struct{}) (AckStats, error) {
	var lat []time.Duration
	for i := range n {
		if stop != nil {
			select {
			case <-stop:
				return latencyStats(lat), nil
			default:
			}
		}
		body := liveEnvelope(pnid, []map[string]any{{"from": "5511900000001", "id": fmt.Sprintf("wamid.benchping.%s.%d.%d", pnid, time.Now().UnixNano(), i),
			"timestamp": strconv.FormatInt(time.Now().Unix(), 10), "type": "text", "text": map[string]string{"body": "ping"}}})
		d, _, err := deliver(ctx, client, []string{t.URL + "/webhooks/whatsapp"}, 0, body, webhook.Sign([]byte(t.AppSecret), body))
		if err != nil {
			return AckStats{}, fmt.Errorf("post ping webhook: %w", err)
		}
		lat = append(lat, d)
		time.Sleep(25 * time.Millisecond)
	}
	return latencyStats(lat), nil
}

func latencyStats(lat []time.Duration) AckStats {
	s := AckStats{N: len(lat)}
	if len(lat) == 0 {
		return s
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	at := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	s.P50, s.P95, s.P99, s.Max = at(.50), at(.95), at(.99), lat[len(lat)-1]
	return s
}

// waitMedia polls the number's jobs until want of them are done or failed.
func waitMedia(ctx context.Context, db *store.DB, pnid string, want int) (done, failed int, ingested time.Time, err error) {
	deadline := time.Now().Add(30 * time.Minute)
	for {
		st, err := db.MediaStats(ctx, pnid)
		if err != nil {
			return 0, 0, ingested, err
		}
		total := int64(0)
		for _, n := range st.ByState {
			total += n
		}
		if total >= int64(want) && ingested.IsZero() {
			ingested = time.Now()
		}
		done = int(st.ByState[models.MediaDone])
		failed = int(st.ByState[models.MediaFailed] + st.ByState[models.MediaExpired])
		if done+failed >= want {
			return done, failed, ingested, nil
		}
		if time.Now().After(deadline) {
			return done, failed, ingested, errors.New("media jobs not finished after 30 minutes")
		}
		select {
		case <-ctx.Done():
			return done, failed, ingested, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func cleanupMedia(ctx context.Context, db *store.DB, pnid string) error {
	_, err := db.PurgeNumber(ctx, pnid)
	return err
}

func printMediaSummary(w io.Writer, r MediaReport) {
	rate := func(d time.Duration) string { return mb(int64(float64(r.Bytes)/d.Seconds())) + "/s" }
	fmt.Fprintf(w, "pipeline  webhooks → jobs → download, sha256, storage: %s, %s (%d done, %d failed); webhooks answered after %s, jobs all created after %s\n",
		seconds(r.Pipeline), rate(r.Pipeline), r.Done, r.Failed, seconds(r.Posted), seconds(r.Ingested))
	verdict := func(ok bool) string {
		if ok {
			return "ok"
		}
		return "MISSED"
	}
	fmt.Fprintf(w, "ratio     %.2f of the plain copy (target ≥ 0.80: %s)\n", r.Ratio(), verdict(r.Ratio() >= 0.8))
	if r.PeakRSS > 0 {
		fmt.Fprintf(w, "memory    server peak RSS %s (target ≤ 128 MB: %s)\n", mb(r.PeakRSS), verdict(r.PeakRSS <= 128<<20))
	}
	fmt.Fprintf(w, "webhooks  ack p50/p95 idle %s/%s (%d), during downloads %s/%s (%d)\n",
		millis(r.AckIdle.P50), millis(r.AckIdle.P95), r.AckIdle.N, millis(r.AckDl.P50), millis(r.AckDl.P95), r.AckDl.N)
}
