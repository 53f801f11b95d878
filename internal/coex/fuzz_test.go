package coex

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed files: %v", err)
	}
	for _, name := range files {
		body, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	for _, s := range []string{"", "[]", "{}", "null", `{"object":"whatsapp_business_account","entry":[]}`,
		`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"history","value":{"history":[{"metadata":{"chunk_order":"1"}}]}}]}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		batch, err := Parse(body)
		if err != nil {
			if batch != nil {
				t.Fatal("batch and error together")
			}
			if !errors.Is(err, ErrNotEnvelope) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		for _, c := range batch.Changes {
			var all []Message
			for _, ch := range c.Chunks {
				all = append(all, ch.Messages...)
			}
			all = append(all, c.MediaUpdates...)
			all = append(all, c.Messages...)
			for _, m := range all {
				if m.WAMID == "" || !json.Valid(m.Raw) {
					t.Fatalf("message without id or with invalid raw: %+v", m)
				}
				if m.Direction != DirectionInbound && m.Direction != DirectionOutbound {
					t.Fatalf("bad direction %q", m.Direction)
				}
			}
			for _, ch := range c.Chunks {
				if ch.Progress < 0 || ch.Progress > 100 || ch.Phase < 0 || ch.ChunkOrder < 0 {
					t.Fatalf("chunk out of range: %+v", ch)
				}
			}
		}
	})
}
