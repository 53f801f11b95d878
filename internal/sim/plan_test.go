package sim

import (
	"bytes"
	"testing"
)

// bodySet counts bodies by content.
func bodySet(list [][]byte) map[string]int {
	out := map[string]int{}
	for _, b := range list {
		out[string(b)]++
	}
	return out
}

func plannedBodies(p []Planned) [][]byte {
	out := make([][]byte, len(p))
	for i := range p {
		out[i] = p[i].Body
	}
	return out
}

func cleanHistoryBodies(h *History) [][]byte {
	return append(h.ChunkBodies(), h.MediaFollowUps...)
}

func TestPlanHistoryClean(t *testing.T) {
	h := mustGenerate(t, testNumber(), testConfig())
	got := plannedBodies(PlanHistory(h, Faults{}))
	want := cleanHistoryBodies(h)
	if len(got) != len(want) {
		t.Fatalf("%d bodies, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("body %d out of natural order", i)
		}
	}
}

func TestPlanHistoryOutOfOrderAndDuplicates(t *testing.T) {
	h := mustGenerate(t, testNumber(), testConfig())
	clean := bodySet(cleanHistoryBodies(h))

	shuffled := PlanHistory(h, Faults{OutOfOrder: true})
	if got := bodySet(plannedBodies(shuffled)); len(got) != len(clean) || len(shuffled) != len(clean) {
		t.Fatalf("out of order: %d bodies (%d distinct), want %d", len(shuffled), len(got), len(clean))
	}
	for b := range clean {
		if bodySet(plannedBodies(shuffled))[b] != 1 {
			t.Fatal("out of order lost or repeated a body")
		}
	}
	moved, lastChunk := 0, -1
	for i, c := range h.Chunks {
		if !bytes.Equal(shuffled[i].Body, c.Body) {
			moved++
		}
	}
	for i, p := range shuffled {
		if p.Kind == "chunk" {
			lastChunk = i
		}
	}
	if moved < len(h.Chunks)/2 {
		t.Fatalf("only %d of %d chunks moved", moved, len(h.Chunks))
	}
	if bytes.Equal(shuffled[lastChunk].Body, h.Chunks[len(h.Chunks)-1].Body) {
		t.Fatal("the progress-100 chunk is still the last chunk sent")
	}
	if again := PlanHistory(h, Faults{OutOfOrder: true}); !bytes.Equal(bytes.Join(plannedBodies(again), nil), bytes.Join(plannedBodies(shuffled), nil)) {
		t.Fatal("the shuffle is not deterministic")
	}

	both := plannedBodies(PlanHistory(h, Faults{OutOfOrder: true, Duplicates: true}))
	got := bodySet(both)
	if len(got) != len(clean) {
		t.Fatalf("duplicates: %d distinct bodies, want %d", len(got), len(clean))
	}
	for b := range clean {
		if got[b] < 1 || got[b] > 2 {
			t.Fatalf("a body was sent %d times", got[b])
		}
	}
	extra := len(both) - len(clean)
	if extra < len(clean)/10 || extra > len(clean)/3 {
		t.Fatalf("%d duplicates for %d bodies, want about 20%%", extra, len(clean))
	}
}

func TestPlanHistoryStall(t *testing.T) {
	h := mustGenerate(t, testNumber(), testConfig())
	for _, f := range []Faults{{Stall: true}, {Stall: true, OutOfOrder: true}} {
		plan := PlanHistory(h, f)
		if len(plan) != len(h.Chunks)/2 {
			t.Fatalf("%+v: %d bodies, want %d", f, len(plan), len(h.Chunks)/2)
		}
		for _, p := range plan {
			if p.Kind != "chunk" || bytes.Equal(p.Body, h.Chunks[len(h.Chunks)-1].Body) {
				t.Fatalf("%+v: stalled plan sends %s or the progress-100 chunk", f, p.Kind)
			}
		}
	}
}

func TestPlanDeclineAndContacts(t *testing.T) {
	h := mustGenerate(t, testNumber(), testConfig())
	plan := PlanHistory(h, Faults{Decline: true, OutOfOrder: true})
	if len(plan) != 1 || plan[0].Kind != "declined" || !bytes.Equal(plan[0].Body, h.DeclinedBody) {
		t.Fatalf("decline plan: %d bodies", len(plan))
	}
	contacts := PlanContacts(h, Faults{})
	if len(contacts) != len(h.ContactBodies) || contacts[0].Kind != "contacts" {
		t.Fatalf("contacts plan: %d bodies, want %d", len(contacts), len(h.ContactBodies))
	}
}
