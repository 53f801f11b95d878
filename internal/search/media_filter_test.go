package search_test

import (
	"context"
	"testing"

	"coexhistory/internal/coex"
	"coexhistory/internal/search"
	"coexhistory/internal/store"
	"coexhistory/internal/store/storetest"
)

func TestHasMediaFilter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const pnid = "623400011122233"
		msg := func(wamid, typ, text, mediaID string, ts int64) coex.Message {
			return coex.Message{WAMID: wamid, ContactWAID: "5511912345678", Direction: coex.DirectionInbound, Type: typ, Text: text,
				Timestamp: ts, Origin: coex.OriginLive, MediaID: mediaID}
		}
		if _, err := db.ApplyMessages(ctx, pnid, []coex.Message{
			msg("w1", "text", "foto do pedido chegou", "", 1760000001),
			msg("w2", "image", "foto do pedido", "111", 1760000002),
			msg("w3", "document", "nota fiscal", "112", 1760000003),
			msg("w4", "audio", "", "113", 1760000004),
		}); err != nil {
			t.Fatal(err)
		}
		s := search.New(db.SQL(), db.Dialect())
		page, err := s.Search(ctx, search.Params{Type: search.TypeHasMedia})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, r := range page.Results {
			got[r.WAMID] = true
		}
		if len(got) != 3 || got["w1"] {
			t.Fatalf("has media: %v", got)
		}
		page, err = s.Search(ctx, search.Params{Q: "foto", Type: search.TypeHasMedia})
		if err != nil || len(page.Results) != 1 || page.Results[0].WAMID != "w2" {
			t.Fatalf("foto with media: %+v %v", page.Results, err)
		}
	})
}
