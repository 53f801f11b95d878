package sim

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"coexhistory/internal/coex"
)

// TestHistoryStreamIsAMetaSync parses every generated body as the ingest does and checks the
// shape of the sync: all messages once, phases in order with chunk_order from 1, progress
// rising to 100, body sizes around the mean, times in their phase's window, a mix of
// directions, types, statuses and languages.
func TestHistoryStreamIsAMetaSync(t *testing.T) {
	day0 := time.Date(2025, 10, 20, 12, 0, 0, 0, time.UTC).Unix()
	spec := HistorySpec{Messages: 12000, Threads: 300, BodyBytes: 200 << 10, Seed: 3,
		PhoneNumberID: "623400011122233", DisplayPhoneNumber: "5511987650000", WABAID: "810023456789012", Onboarded: day0}
	stream, err := NewHistoryStream(spec)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	contacts := map[string]bool{}
	count := map[string]int{}
	lastPhase, lastProgress, bodies := 0, 0, 0
	lastOrder := map[int]int{}
	var first []byte
	for {
		body, info, ok := stream.Next()
		if !ok {
			break
		}
		bodies++
		if first == nil {
			first = append([]byte(nil), body...)
		}
		batch, err := coex.Parse(body)
		if err != nil {
			t.Fatalf("body %d: %v", bodies, err)
		}
		if len(batch.Changes) != 1 || len(batch.Changes[0].Chunks) != 1 {
			t.Fatalf("body %d: %d changes; want one history chunk", bodies, len(batch.Changes))
		}
		ch := batch.Changes[0]
		c := ch.Chunks[0]
		if ch.Field != coex.FieldHistory || ch.PhoneNumberID != spec.PhoneNumberID || ch.WABAID != spec.WABAID {
			t.Fatalf("body %d: field %q number %q waba %q", bodies, ch.Field, ch.PhoneNumberID, ch.WABAID)
		}
		if c.Phase != info.Phase || c.ChunkOrder != info.ChunkOrder || c.Progress != info.Progress ||
			len(c.Messages) != info.Messages || c.ThreadCount != info.Threads {
			t.Fatalf("body %d: parsed %d/%d progress %d, %d messages in %d threads; info %+v",
				bodies, c.Phase, c.ChunkOrder, c.Progress, len(c.Messages), c.ThreadCount, info)
		}
		if c.Phase < lastPhase || c.ChunkOrder != lastOrder[c.Phase]+1 || c.Progress < lastProgress {
			t.Fatalf("body %d: chunk %d/%d progress %d after phase %d chunk %d progress %d",
				bodies, c.Phase, c.ChunkOrder, c.Progress, lastPhase, lastOrder[c.Phase], lastProgress)
		}
		lastPhase, lastOrder[c.Phase], lastProgress = c.Phase, c.ChunkOrder, c.Progress
		if len(body) > spec.BodyBytes*3/2+4096 {
			t.Errorf("body %d is %d bytes; want at most 1.5 × %d", bodies, len(body), spec.BodyBytes)
		}
		for _, m := range c.Messages {
			if seen[m.WAMID] {
				t.Fatalf("wamid %s twice", m.WAMID)
			}
			seen[m.WAMID] = true
			contacts[m.ContactWAID] = true
			age := day0 - m.Timestamp
			wantPhase := 2
			if age < 24*3600 {
				wantPhase = 0
			} else if age < 90*24*3600 {
				wantPhase = 1
			}
			if age <= 0 || age > 180*24*3600+24*3600 || wantPhase != c.Phase {
				t.Fatalf("message at %d (age %d s) in phase %d", m.Timestamp, age, c.Phase)
			}
			count[m.Direction]++
			count["type:"+m.Type]++
			count["status:"+m.Status]++
			if strings.Contains(m.Text, "order #") || strings.Contains(m.Text, "Thank") || strings.Contains(m.Text, "Hi!") {
				count["english"]++
			}
			if strings.Contains(m.Text, "ã") || strings.Contains(m.Text, "ç") {
				count["portuguese"]++
			}
		}
	}
	if len(seen) != spec.Messages || len(contacts) != spec.Threads || lastProgress != 100 || lastPhase != 2 {
		t.Fatalf("%d messages in %d threads, last progress %d in phase %d; want %d in %d, 100, phase 2",
			len(seen), len(contacts), lastProgress, lastPhase, spec.Messages, spec.Threads)
	}
	if lastOrder[0] < 1 || lastOrder[1] < 5 || lastOrder[2] < 5 {
		t.Errorf("chunks per phase %v; want some in each, most in phases 1 and 2", lastOrder)
	}
	for _, key := range []string{coex.DirectionInbound, coex.DirectionOutbound, "type:text", "type:" + coex.TypeMediaPlaceholder,
		"type:reaction", "type:location", "status:read", "status:delivered", "status:sent", "status:error", "status:played",
		"english", "portuguese"} {
		if count[key] < 10 {
			t.Errorf("%s: %d messages; want a realistic share (counts %v)", key, count[key], count)
		}
	}
	if !bytes.Contains(first, []byte(`\u00`)) || bytes.Contains(first, []byte("ç")) {
		t.Error("bodies must escape non-ASCII text as \\uXXXX, as Meta does")
	}

	again, err := NewHistoryStream(spec)
	if err != nil {
		t.Fatal(err)
	}
	body, _, _ := again.Next()
	if !bytes.Equal(body, first) {
		t.Error("the same spec and seed must give the same bodies")
	}
	if _, err := NewHistoryStream(HistorySpec{Messages: 10}); err == nil {
		t.Errorf("a spec without a number: %v; want an error", err)
	}
}
