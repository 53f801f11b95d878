package coex

// NoChunk is the Phase and ChunkOrder of a message version that did not come in a history
// chunk (live and echo messages, edits, revokes).
const NoChunk = -1

// TypeUnknown is the type of a message known only from an edit or revoke that arrived
// before the message itself. The message's own delivery replaces it.
const TypeUnknown = "unknown"

// MessageVersion is one delivery of a message as the merge sees it: what a history chunk, a
// live or echo webhook, an edit or a revoke says about it, or what is stored.
type MessageVersion struct {
	ContactWAID string
	Direction   string
	Type        string
	Text        string
	TS          int64
	Status      string
	Origin      string
	Edited      bool
	Deleted     bool
	MediaID     string
	MimeType    string
	ReactionTo  string
	Phase       int // NoChunk outside a history chunk
	ChunkOrder  int
	Position    int
	Raw         string
}

// Merge is the order-independent merge of two deliveries of one message, cur the stored (or
// earlier) one and in the incoming one:
//   - placement (time, direction, contact, origin, phase, chunk order, position): a history
//     chunk beats any other source; between chunks the smallest (phase, chunk_order,
//     position) wins; between other sources the earliest time wins and the rest stays;
//   - content (type, text, media id, mime type, reaction, raw JSON): a real type beats a
//     placeholder or an unknown stub, then a chunk beats other sources, then the smallest
//     chunk position; the text of an edited message is kept;
//   - status merges monotonically (MergeStatus); edited and deleted stay set;
//   - a message known only from its statuses (origin api) takes the origin of its content.
//
// newContact reports that the contact was taken from in, so the message may belong to
// another thread.
func Merge(cur, in MessageVersion) (out MessageVersion, newContact bool) {
	out = cur
	inChunk, curChunk := in.Phase >= 0, cur.Phase >= 0
	switch {
	case inChunk && (!curChunk || chunkBefore(&in, &cur)):
		out.TS, out.Origin = in.TS, in.Origin
		out.Phase, out.ChunkOrder, out.Position = in.Phase, in.ChunkOrder, in.Position
		if in.Direction != "" {
			out.Direction = in.Direction
		}
		if in.ContactWAID != "" {
			out.ContactWAID, newContact = in.ContactWAID, true
		}
	case !inChunk && !curChunk:
		if in.TS > 0 && (out.TS == 0 || in.TS < out.TS) {
			out.TS = in.TS
		}
	}
	if out.ContactWAID == "" && in.ContactWAID != "" {
		out.ContactWAID, newContact = in.ContactWAID, true
	}
	if out.Direction == "" {
		out.Direction = in.Direction
	}
	if out.Origin == "" {
		out.Origin = in.Origin
	}
	if cur.Origin == OriginAPI && in.Origin != "" && in.Origin != OriginAPI && contentRank(&in) > contentRank(&cur) {
		// Known from its statuses only until now: its content says where it came from.
		out.Origin = in.Origin
	}
	if contentBefore(&in, &cur) {
		out.Type, out.MediaID, out.MimeType, out.ReactionTo, out.Raw = in.Type, in.MediaID, in.MimeType, in.ReactionTo, in.Raw
		if !cur.Edited {
			out.Text = in.Text
		}
	}
	out.Status = MergeStatus(cur.Status, in.Status)
	out.Edited = cur.Edited || in.Edited
	out.Deleted = cur.Deleted || in.Deleted
	return out, newContact
}

// chunkBefore orders two chunk deliveries of a message by (phase, chunk_order, position).
func chunkBefore(a, b *MessageVersion) bool {
	if a.Phase != b.Phase {
		return a.Phase < b.Phase
	}
	if a.ChunkOrder != b.ChunkOrder {
		return a.ChunkOrder < b.ChunkOrder
	}
	return a.Position < b.Position
}

// contentBefore reports whether a's content is preferred over b's.
func contentBefore(a, b *MessageVersion) bool {
	ra, rb := contentRank(a), contentRank(b)
	if ra != rb {
		return ra > rb
	}
	return a.Phase >= 0 && b.Phase >= 0 && chunkBefore(a, b)
}

func contentRank(v *MessageVersion) int {
	rank := 0
	switch v.Type {
	case "", TypeUnknown, TypeMediaPlaceholder:
	default:
		rank = 2
	}
	if v.Phase >= 0 {
		rank++
	}
	return rank
}
