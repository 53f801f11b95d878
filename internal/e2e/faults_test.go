package e2e_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"coexhistory/internal/sim"
	"coexhistory/internal/store/storetest"
	"coexhistory/models"
)

// threadDump is one thread as the read API shows it, keyed by what does not depend on the
// order rows were inserted in (thread ids do).
type threadDump struct {
	Contact  string
	Name     string
	Count    int
	First    int64
	Last     int64
	Messages []messageDump
}

type messageDump struct {
	WAMID     string
	Direction string
	Type      string
	Text      string
	Timestamp int64
	Status    string // "null" when the API says null
	Origin    string
	Edited    bool
	Deleted   bool
	Reactions []apiReaction
}

// dump reads the number's threads (every page) and each thread's messages (every page)
// through the read API, ordered by contact; messages keep the API's order.
func (r *rig) dump(t *testing.T) []threadDump {
	t.Helper()
	var out []threadDump
	for _, th := range r.threads(t) {
		if th.PhoneNumberID != e2eNumber.PhoneNumberID {
			t.Fatalf("thread %d of number %q listed", th.ID, th.PhoneNumberID)
		}
		d := threadDump{Contact: th.ContactWAID, Name: th.ContactName, Count: th.MessageCount, First: th.FirstMessageAt, Last: th.LastMessageAt}
		for _, m := range r.messages(t, th.ID) {
			d.Messages = append(d.Messages, messageDump{
				WAMID: m.WAMID, Direction: m.Direction, Type: m.Type, Text: m.Text, Timestamp: m.Timestamp,
				Status: orNull(m.Status), Origin: m.Origin, Edited: m.Edited, Deleted: m.Deleted, Reactions: m.Reactions,
			})
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b threadDump) int { return strings.Compare(a.Contact, b.Contact) })
	for i := 1; i < len(out); i++ {
		if out[i].Contact == out[i-1].Contact {
			t.Fatalf("contact %s has two threads", out[i].Contact)
		}
	}
	return out
}

// diffDumps describes the first differences between two dumps ("" when equal).
func diffDumps(a, b []threadDump) string {
	var sb strings.Builder
	if len(a) != len(b) {
		fmt.Fprintf(&sb, "\n  %d threads against %d", len(a), len(b))
	}
	shown := 0
	for i := 0; i < min(len(a), len(b)) && shown < 5; i++ {
		ta, tb := a[i], b[i]
		head := func(x threadDump) string {
			return fmt.Sprintf("%s %q count=%d first=%d last=%d listed=%d", x.Contact, x.Name, x.Count, x.First, x.Last, len(x.Messages))
		}
		if head(ta) != head(tb) {
			fmt.Fprintf(&sb, "\n  thread %d: %s\n       against %s", i, head(ta), head(tb))
			shown++
		}
		for j := 0; j < min(len(ta.Messages), len(tb.Messages)) && shown < 5; j++ {
			if !reflect.DeepEqual(ta.Messages[j], tb.Messages[j]) {
				fmt.Fprintf(&sb, "\n  thread %s message %d:\n    %+v\n    against %+v", ta.Contact, j, ta.Messages[j], tb.Messages[j])
				shown++
			}
		}
	}
	return sb.String()
}

// syncRun is one sync of the generated history into a fresh app, with faults, read back.
type syncRun struct {
	status syncStatus
	dump   []threadDump
	rows   int // messages rows of the number
	unique int // distinct wamids among them
}

// TestSimulatorFaultsProduceTheSameThreads syncs one seeded history twice into fresh apps,
// once cleanly and once with the simulator posting the chunks out of order and some
// webhooks twice, and reads both back through the API: the threads and every message in
// them are the same, every generated message is stored exactly once, and both syncs
// complete at 100 % with every chunk in the ledger.
func TestSimulatorFaultsProduceTheSameThreads(t *testing.T) {
	hist := sim.HistoryConfig{Seed: 5, Contacts: 30, Messages: 1500, ChunkSize: 40, Now: time.Now().UTC().Truncate(time.Second)}
	want, err := sim.Generate(e2eNumber, hist)
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Chunks) < 30 || len(want.MediaFollowUps) == 0 {
		t.Fatalf("the generated history has %d chunks and %d media follow-ups: too few to shuffle", len(want.Chunks), len(want.MediaFollowUps))
	}
	faulty := sim.Faults{OutOfOrder: true, Duplicates: true}
	// The faulty plan really is out of order and has duplicates.
	plan := sim.PlanHistory(want, faulty)
	if len(plan) <= len(want.Chunks)+len(want.MediaFollowUps) {
		t.Fatalf("the faulty plan has %d bodies: no duplicates", len(plan))
	}
	// Seed 5 has chunks delivered again after the media follow-up that completed one of
	// their placeholders: the replayed placeholder must not undo the media.
	if n := replayedOverFollowUps(want, plan); n == 0 {
		t.Fatal("no chunk of the faulty plan is replayed over a media follow-up")
	}
	if p := sim.PlanHistory(want, sim.Faults{OutOfOrder: true}); slices.EqualFunc(p[:len(want.Chunks)], want.Chunks, func(p sim.Planned, c sim.Chunk) bool { return string(p.Body) == string(c.Body) }) {
		t.Fatal("the out-of-order plan keeps the natural order")
	}

	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			started := time.Now()
			run := func(t *testing.T, faults sim.Faults) syncRun {
				r := newRig(t, dialect, hist, faults)
				r.syncAndIngest(t)
				var out syncRun
				r.apiJSON(t, "GET", "/api/v1/numbers/"+e2eNumber.PhoneNumberID+"/sync", 200, &out.status)
				out.dump = r.dump(t)
				out.rows, out.unique = r.storedMessages(t)
				return out
			}
			clean := run(t, sim.Faults{})
			cleanTook := time.Since(started)
			messy := run(t, faulty)

			for name, got := range map[string]syncRun{"clean": clean, "out of order + duplicates": messy} {
				checkRun(t, name, got, want)
			}
			if d := diffDumps(clean.dump, messy.dump); d != "" || !reflect.DeepEqual(clean.dump, messy.dump) {
				t.Fatalf("the faulty run stored other threads than the clean run:%s", d)
			}
			t.Logf("%s: clean run %s, faulty run %s; %d threads, %d messages", dialect,
				cleanTook.Round(time.Millisecond), (time.Since(started) - cleanTook).Round(time.Millisecond), len(clean.dump), clean.rows)
		})
	}
}

// checkRun compares one run with the generated history.
func checkRun(t *testing.T, name string, got syncRun, want *sim.History) {
	t.Helper()
	st := got.status
	if st.State != models.SyncComplete || st.Progress != 100 || st.ErrorCode != 0 {
		t.Errorf("%s: sync %s at %d %% (error %d), want complete at 100 %%", name, st.State, st.Progress, st.ErrorCode)
	}
	chunks, chunkMessages := 0, 0
	for _, p := range st.Phases {
		chunks += p.Chunks
		chunkMessages += p.Messages
	}
	wantPhases := map[int]int{}
	for _, c := range want.Chunks {
		wantPhases[c.Phase]++
	}
	gotPhases := map[int]int{}
	for _, p := range st.Phases {
		gotPhases[p.Phase] = p.Chunks
	}
	if chunks != len(want.Chunks) || !reflect.DeepEqual(gotPhases, wantPhases) {
		t.Errorf("%s: %d chunks in the ledger by phase %v, want %d: %v", name, chunks, gotPhases, len(want.Chunks), wantPhases)
	}
	if chunkMessages != len(want.Messages) {
		t.Errorf("%s: the chunks delivered %d messages, want %d", name, chunkMessages, len(want.Messages))
	}
	for _, g := range st.ChunkGaps {
		if len(g.Missing) > 0 {
			t.Errorf("%s: chunk gaps in phase %d: %v", name, g.Phase, g.Missing)
		}
	}
	// Every generated reaction reacts to a generated message: it is shown on that message,
	// and the threads count the other messages.
	reactions := 0
	for _, m := range want.Messages {
		if m.Type == "reaction" {
			reactions++
		}
	}
	if wantListed := len(want.Messages) - reactions; st.MessagesTotal != int64(wantListed) || st.ThreadsTotal != int64(len(want.Threads())) {
		t.Errorf("%s: sync reports %d messages in %d threads, want %d (%d but %d reactions) in %d",
			name, st.MessagesTotal, st.ThreadsTotal, wantListed, len(want.Messages), reactions, len(want.Threads()))
	}
	if st.ContactsTotal != int64(len(want.Contacts)) {
		t.Errorf("%s: %d contacts stored, want %d", name, st.ContactsTotal, len(want.Contacts))
	}
	if got.rows != len(want.Messages) || got.unique != len(want.Messages) {
		t.Errorf("%s: %d message rows (%d distinct wamids), want %d", name, got.rows, got.unique, len(want.Messages))
	}

	// Every generated message exactly once: listed in its thread, or as a reaction under
	// the message it reacts to, with its direction, time and (for text) its text. A side's
	// later reaction to a message replaces its earlier one (as in WhatsApp): the earlier
	// one is stored, but not shown. A thread's count is the items it lists.
	superseded := supersededReactions(want)
	seen := map[string]int{}
	listedPerThread := map[string]int{}
	byID := map[string]messageDump{}
	names := map[string]string{}
	for _, c := range want.Contacts {
		names[c.PhoneNumber] = c.FullName
	}
	if len(got.dump) != len(want.Threads()) {
		t.Errorf("%s: %d threads listed, want %d", name, len(got.dump), len(want.Threads()))
	}
	for _, th := range got.dump {
		listed := 0
		for i, m := range th.Messages {
			seen[m.WAMID]++
			byID[m.WAMID] = m
			listed++
			for _, re := range m.Reactions {
				seen[re.WAMID]++
				listed++
			}
			if i > 0 && m.Timestamp < th.Messages[i-1].Timestamp {
				t.Errorf("%s: thread %s out of time order at message %d", name, th.Contact, i)
			}
		}
		listedPerThread[th.Contact] = listed
		if len(th.Messages) != th.Count {
			t.Errorf("%s: thread %s lists %d items (with %d reactions on them), its count says %d",
				name, th.Contact, len(th.Messages), listed-len(th.Messages), th.Count)
		}
		if th.Name != names[th.Contact] {
			t.Errorf("%s: thread %s is named %q, want %q", name, th.Contact, th.Name, names[th.Contact])
		}
	}
	wantListedPerThread := map[string]int{}
	bad := 0
	for _, m := range want.Messages {
		wantSeen := 1
		if superseded.ids[m.ID] {
			wantSeen = 0
		}
		wantListedPerThread[m.Thread] += wantSeen
		if seen[m.ID] != wantSeen {
			if bad++; bad <= 5 {
				t.Errorf("%s: message %s (%s, chunk %d/%d) listed %d times, want %d", name, m.ID, m.Type, m.Phase, m.ChunkOrder, seen[m.ID], wantSeen)
			}
			continue
		}
		if m.Type == "reaction" {
			continue
		}
		g := byID[m.ID]
		dir := "inbound"
		if m.Outbound {
			dir = "outbound"
		}
		wantType := m.Type
		if m.FollowUp {
			wantType = m.MediaType // the follow-up brought the media
		}
		if g.Direction != dir || g.Timestamp != m.Timestamp || g.Origin != models.OriginHistory || g.Type != wantType || (m.Type == "text" && g.Text != m.Text) {
			if bad++; bad <= 5 {
				t.Errorf("%s: message %s stored as %+v, generated as %+v", name, m.ID, g, m)
			}
		}
	}
	if len(seen) != len(want.Messages)-len(superseded.ids) {
		t.Errorf("%s: %d distinct wamids listed, want %d (%d generated, %d replaced reactions)",
			name, len(seen), len(want.Messages)-len(superseded.ids), len(want.Messages), len(superseded.ids))
	}
	if !reflect.DeepEqual(listedPerThread, wantListedPerThread) {
		t.Errorf("%s: messages listed per thread %v, want %v", name, listedPerThread, wantListedPerThread)
	}
}

// replaced are the generated reactions a later reaction of the same side to the same
// message replaces.
type replaced struct {
	ids map[string]bool
}

func supersededReactions(h *sim.History) replaced {
	type side struct {
		target   string
		outbound bool
	}
	latest := map[side]sim.MessageRecord{}
	var all []sim.MessageRecord
	for _, m := range h.Messages {
		if m.Type != "reaction" {
			continue
		}
		all = append(all, m)
		k := side{m.ReactionTo, m.Outbound}
		if cur, ok := latest[k]; !ok || m.Timestamp > cur.Timestamp || (m.Timestamp == cur.Timestamp && m.ID > cur.ID) {
			latest[k] = m
		}
	}
	out := replaced{ids: map[string]bool{}}
	for _, m := range all {
		if latest[side{m.ReactionTo, m.Outbound}].ID != m.ID {
			out.ids[m.ID] = true
		}
	}
	return out
}

// replayedOverFollowUps counts the media placeholders whose chunk plan delivers again after
// the media follow-up that completed the placeholder.
func replayedOverFollowUps(h *sim.History, plan []sim.Planned) int {
	type chunkKey struct{ phase, order int }
	chunkOf := map[string]chunkKey{}
	for _, c := range h.Chunks {
		chunkOf[string(c.Body)] = chunkKey{c.Phase, c.Order}
	}
	var followed []sim.MessageRecord // in the order of the follow-up bodies, FollowUpsPerWebhook each
	for _, m := range h.Messages {
		if m.FollowUp {
			followed = append(followed, m)
		}
	}
	followUpOf := map[string]int{}
	for i, b := range h.MediaFollowUps {
		followUpOf[string(b)] = i
	}
	completed := map[chunkKey]int{} // placeholders of a chunk completed by a follow-up so far
	risks := 0
	for _, p := range plan {
		switch p.Kind {
		case "media":
			i := followUpOf[string(p.Body)]
			for _, m := range followed[i*sim.FollowUpsPerWebhook : min((i+1)*sim.FollowUpsPerWebhook, len(followed))] {
				completed[chunkKey{m.Phase, m.ChunkOrder}]++
			}
		case "chunk":
			risks += completed[chunkOf[string(p.Body)]]
		}
	}
	return risks
}
