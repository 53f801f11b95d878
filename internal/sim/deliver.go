package sim

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"
)

// Sign returns the X-Hub-Signature-256 value Meta sends with body: "sha256=" and the hex
// HMAC-SHA256 of the raw body keyed with the app secret.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Planned is one webhook body of a delivery run, in sending order.
type Planned struct {
	Kind string // contacts, chunk, media, declined
	Body []byte
}

// PlanContacts returns the bodies a contact sync posts, faults applied.
func PlanContacts(h *History, f Faults) []Planned {
	list := make([]Planned, 0, len(h.ContactBodies))
	for _, b := range h.ContactBodies {
		list = append(list, Planned{Kind: "contacts", Body: b})
	}
	if f.Duplicates {
		list = duplicate(list, faultRNG(h, "contacts-duplicates"))
	}
	return list
}

// PlanHistory returns the bodies a history sync posts, faults applied: the chunks (shuffled
// with OutOfOrder, cut after about half with Stall), then the media follow-ups (none with
// Stall); with Duplicates about one body in five again at a later position. Decline gives
// only the 2593109 webhook.
func PlanHistory(h *History, f Faults) []Planned {
	if f.Decline {
		return []Planned{{Kind: "declined", Body: h.DeclinedBody}}
	}
	chunks := slices.Clone(h.Chunks)
	last := func() int {
		return slices.IndexFunc(chunks, func(c Chunk) bool { return c.Progress == 100 })
	}
	if f.OutOfOrder && len(chunks) > 1 {
		rng := faultRNG(h, "out-of-order")
		rng.Shuffle(len(chunks), func(i, j int) { chunks[i], chunks[j] = chunks[j], chunks[i] })
		if i := last(); i == len(chunks)-1 {
			j := rng.IntN(len(chunks) - 1)
			chunks[i], chunks[j] = chunks[j], chunks[i]
		}
	}
	if f.Stall {
		keep := len(chunks) / 2
		if i := last(); i >= 0 && i < keep {
			chunks[i], chunks[keep] = chunks[keep], chunks[i]
		}
		chunks = chunks[:keep]
	}
	list := make([]Planned, 0, len(chunks)+len(h.MediaFollowUps))
	for _, c := range chunks {
		list = append(list, Planned{Kind: "chunk", Body: c.Body})
	}
	if !f.Stall {
		for _, b := range h.MediaFollowUps {
			list = append(list, Planned{Kind: "media", Body: b})
		}
	}
	if f.Duplicates {
		list = duplicate(list, faultRNG(h, "history-duplicates"))
	}
	return list
}

func faultRNG(h *History, purpose string) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(h.Config.Seed), hash64(purpose, h.Number.PhoneNumberID)))
}

// duplicate sends about one body in five a second time, somewhere after the first.
func duplicate(list []Planned, rng *rand.Rand) []Planned {
	type keyed struct {
		key float64
		p   Planned
	}
	out := make([]keyed, 0, len(list)+len(list)/4)
	for i, p := range list {
		out = append(out, keyed{float64(i), p})
		if rng.IntN(100) < 20 {
			out = append(out, keyed{float64(i) + 0.5 + rng.Float64()*float64(len(list)-i), p})
		}
	}
	slices.SortStableFunc(out, func(a, b keyed) int { return cmp.Compare(a.key, b.key) })
	res := make([]Planned, len(out))
	for i, k := range out {
		res[i] = k.p
	}
	return res
}

// startDelivery posts the webhooks of an accepted sync in the background.
func (s *Server) startDelivery(n Number, syncType string, via route, f Faults) {
	s.mu.Lock()
	s.stats.InProgress++
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			s.stats.InProgress--
			s.mu.Unlock()
		}()
		if err := s.deliver(n, syncType, via, f); err != nil {
			s.log.Warn("sim delivery ended", "phone_number_id", n.PhoneNumberID, "sync_type", syncType, "err", err)
		}
	}()
}

func (s *Server) deliver(n Number, syncType string, via route, f Faults) error {
	h, err := s.historyOf(n)
	if err != nil {
		return err
	}
	plan := PlanContacts(h, f)
	if syncType == SyncHistory {
		plan = PlanHistory(h, f)
	}
	url := s.cfg.CallbackURL
	if via == viaPositus {
		url = s.cfg.PositusCallbackURL
	}
	if url == "" {
		return fmt.Errorf("no callback URL configured; %d webhooks not sent", len(plan))
	}
	for _, p := range plan {
		if err := sleep(s.ctx, s.cfg.Pace); err != nil {
			return err
		}
		d := Delivery{PhoneNumberID: n.PhoneNumberID, Kind: p.Kind, URL: url, Body: p.Body}
		d.Attempts, err = s.post(url, p.Body, via)
		s.mu.Lock()
		if err != nil {
			s.stats.Failed = append(s.stats.Failed, d)
		} else {
			s.stats.Delivered = append(s.stats.Delivered, d)
		}
		s.mu.Unlock()
		if err != nil {
			if s.ctx.Err() != nil {
				return s.ctx.Err()
			}
			s.log.Warn("sim webhook given up", "phone_number_id", n.PhoneNumberID, "kind", p.Kind, "attempts", d.Attempts, "err", err)
		}
	}
	s.log.Info("sim delivery done", "phone_number_id", n.PhoneNumberID, "sync_type", syncType, "webhooks", len(plan))
	return nil
}

// post sends one webhook, retrying failures (network errors and non-2xx answers) with a
// doubling back-off like Meta does. It returns the number of attempts made.
func (s *Server) post(url string, body []byte, via route) (int, error) {
	delay := s.cfg.RetryDelay
	var lastErr error
	for attempt := 1; attempt <= s.cfg.MaxAttempts; attempt++ {
		if attempt > 1 {
			if err := sleep(s.ctx, delay); err != nil {
				return attempt - 1, err
			}
			delay = min(delay*2, maxRetryDelay)
		}
		s.mu.Lock()
		s.stats.PostCount++
		s.mu.Unlock()
		lastErr = s.postOnce(url, body, via)
		if lastErr == nil {
			return attempt, nil
		}
		if s.ctx.Err() != nil {
			return attempt, s.ctx.Err()
		}
	}
	return s.cfg.MaxAttempts, lastErr
}

func (s *Server) postOnce(url string, body []byte, via route) error {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "facebookexternalua")
	if via == viaPositus {
		if s.cfg.PositusSecret != "" {
			req.Header.Set(s.cfg.PositusSecretHeader, s.cfg.PositusSecret)
		}
	} else {
		req.Header.Set("X-Hub-Signature-256", Sign([]byte(s.cfg.AppSecret), body))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("post webhook: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("post webhook: callback answered %d", resp.StatusCode)
	}
	return nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
