package coex

import (
	"reflect"
	"testing"
)

func TestMerge(t *testing.T) {
	live := MessageVersion{ContactWAID: "551100", Direction: DirectionInbound, Type: "text", Text: "live", TS: 200,
		Status: StatusDelivered, Origin: "live", Phase: NoChunk, ChunkOrder: NoChunk}
	chunk := MessageVersion{ContactWAID: "551100", Direction: DirectionInbound, Type: "text", Text: "history", TS: 190,
		Status: StatusSent, Origin: OriginHistory, Phase: 1, ChunkOrder: 4, Position: 7, Raw: `{"h":1}`}
	with := func(v MessageVersion, f func(*MessageVersion)) MessageVersion { f(&v); return v }

	tests := []struct {
		name       string
		cur, in    MessageVersion
		want       MessageVersion
		newContact bool
	}{
		{
			name: "a chunk takes the placement and content of a live message",
			cur:  live, in: chunk,
			want: with(chunk, func(v *MessageVersion) { v.Status = StatusDelivered }), newContact: true,
		},
		{
			name: "a live message keeps a chunk's placement and content",
			cur:  chunk, in: live,
			want: with(chunk, func(v *MessageVersion) { v.Status = StatusDelivered }),
		},
		{
			name: "the earlier chunk position wins",
			cur:  with(chunk, func(v *MessageVersion) { v.ChunkOrder, v.TS, v.Text = 5, 180, "later chunk" }), in: chunk,
			want: chunk, newContact: true,
		},
		{
			name: "a later chunk moves nothing",
			cur:  chunk, in: with(chunk, func(v *MessageVersion) { v.Phase, v.TS, v.Text, v.ContactWAID = 2, 100, "phase 2", "559999" }),
			want: chunk,
		},
		{
			name: "between other sources the earliest time wins and the rest stays",
			cur:  live, in: with(live, func(v *MessageVersion) { v.TS, v.Text, v.Origin = 150, "echo", "echo" }),
			want: with(live, func(v *MessageVersion) { v.TS = 150 }),
		},
		{
			name: "a time of 0 never replaces a known one",
			cur:  live, in: with(live, func(v *MessageVersion) { v.TS = 0 }),
			want: live,
		},
		{
			name: "a real type replaces a placeholder, the chunk's placement stays",
			cur:  with(chunk, func(v *MessageVersion) { v.Type, v.Text = TypeMediaPlaceholder, "" }),
			in: with(live, func(v *MessageVersion) {
				v.Type, v.Text, v.MediaID, v.MimeType, v.Raw = "image", "caption", "m1", "image/jpeg", `{"m":1}`
			}),
			want: with(chunk, func(v *MessageVersion) {
				v.Type, v.Text, v.MediaID, v.MimeType, v.Raw, v.Status = "image", "caption", "m1", "image/jpeg", `{"m":1}`, StatusDelivered
			}),
		},
		{
			name: "a placeholder never downgrades a real type",
			cur:  with(live, func(v *MessageVersion) { v.Type, v.MediaID = "image", "m1" }),
			in:   with(chunk, func(v *MessageVersion) { v.Type, v.Text = TypeMediaPlaceholder, "" }),
			want: with(chunk, func(v *MessageVersion) {
				v.Type, v.MediaID, v.Text, v.Raw, v.Status = "image", "m1", "live", "", StatusDelivered
			}),
			newContact: true,
		},
		{
			name: "an unknown stub takes the real message and keeps its edited text",
			cur: MessageVersion{ContactWAID: "551100", Direction: DirectionOutbound, Type: TypeUnknown, Text: "edited",
				TS: 300, Origin: "echo", Edited: true, Phase: NoChunk, ChunkOrder: NoChunk},
			in: with(live, func(v *MessageVersion) { v.Direction = DirectionOutbound }),
			want: MessageVersion{ContactWAID: "551100", Direction: DirectionOutbound, Type: "text", Text: "edited",
				TS: 200, Status: StatusDelivered, Origin: "echo", Edited: true, Phase: NoChunk, ChunkOrder: NoChunk},
		},
		{
			name: "status never goes down, edited and deleted stay set",
			cur:  with(live, func(v *MessageVersion) { v.Status, v.Edited, v.Deleted = StatusRead, true, true }),
			in:   live,
			want: with(live, func(v *MessageVersion) { v.Status, v.Edited, v.Deleted = StatusRead, true, true }),
		},
		{
			name: "error is final",
			cur:  with(live, func(v *MessageVersion) { v.Status = StatusError }),
			in:   with(live, func(v *MessageVersion) { v.Status = StatusRead }),
			want: with(live, func(v *MessageVersion) { v.Status = StatusError }),
		},
		{
			name: "a missing contact, direction and origin are filled in",
			cur:  MessageVersion{Status: StatusRead, Phase: NoChunk, ChunkOrder: NoChunk},
			in:   live,
			want: with(live, func(v *MessageVersion) { v.Status = StatusRead }), newContact: true,
		},
		{
			name: "another source never changes a known contact",
			cur:  live, in: with(live, func(v *MessageVersion) { v.ContactWAID = "559999" }),
			want: live,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, newContact := Merge(tt.cur, tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Merge:\n got %+v\nwant %+v", got, tt.want)
			}
			if newContact != tt.newContact {
				t.Errorf("newContact = %v, want %v", newContact, tt.newContact)
			}
		})
	}
}

// TestMergeOrderIndependent folds deliveries of one message in every order and expects
// one result.
func TestMergeOrderIndependent(t *testing.T) {
	versions := []MessageVersion{
		{ContactWAID: "551100", Direction: DirectionInbound, Type: TypeMediaPlaceholder, TS: 190, Status: StatusSent,
			Origin: OriginHistory, Phase: 1, ChunkOrder: 4, Position: 7, Raw: "chunk"},
		{ContactWAID: "551100", Direction: DirectionInbound, Type: "image", Text: "caption", TS: 200, MediaID: "m1",
			MimeType: "image/jpeg", Origin: OriginHistory, Phase: NoChunk, ChunkOrder: NoChunk, Raw: "media"},
		{Status: StatusRead, Phase: NoChunk, ChunkOrder: NoChunk},
		{ContactWAID: "551100", Direction: DirectionInbound, Type: TypeMediaPlaceholder, TS: 195, Status: StatusDelivered,
			Origin: OriginHistory, Phase: 1, ChunkOrder: 5, Position: 0, Raw: "chunk again"},
	}
	var want *MessageVersion
	permute(len(versions), func(order []int) {
		got := versions[order[0]]
		for _, i := range order[1:] {
			got, _ = Merge(got, versions[i])
		}
		if want == nil {
			want = &got
			return
		}
		if !reflect.DeepEqual(got, *want) {
			t.Errorf("order %v:\n got %+v\nwant %+v", order, got, *want)
		}
	})
}

// permute calls f with every ordering of 0..n-1.
func permute(n int, f func([]int)) {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	var rec func(k int)
	rec = func(k int) {
		if k == n {
			f(append([]int(nil), order...))
			return
		}
		for i := k; i < n; i++ {
			order[k], order[i] = order[i], order[k]
			rec(k + 1)
			order[k], order[i] = order[i], order[k]
		}
	}
	rec(0)
}
