package sim

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// What the generated histories (Generate and HistoryStream) draw the same way: phase
// windows, the gaps inside a conversation, phone numbers, delivery statuses and the
// placeholders of the texts.

// Phase windows, counted back from onboarding.
const (
	day       = int64(24 * 3600)
	phase1Top = day      // phase 0 is the last day
	phase2Top = 90 * day // phase 1 reaches 90 days back
	spanSecs  = 180 * day
)

// phaseOf returns the phase of a message sent at ts.
func phaseOf(now, ts int64) int {
	switch age := now - ts; {
	case age < phase1Top:
		return 0
	case age < phase2Top:
		return 1
	default:
		return 2
	}
}

// drawWindow picks the time window of a new conversation: share0 percent of them in
// phase 0, share1 percent in phase 1 and the rest in phase 2.
func drawWindow(rng *rand.Rand, now int64, share0, share1 int) (lo, hi int64) {
	switch r := rng.IntN(100); {
	case r < share0:
		return now - phase1Top, now
	case r < share0+share1:
		return now - phase2Top, now - phase1Top
	default:
		return now - spanSecs, now - phase2Top
	}
}

// drawGap draws the seconds between two messages of a conversation: the same second
// (8%; order then falls back to position), one to six hours (5%), else 5 s to 20 min.
func drawGap(rng *rand.Rand) int64 {
	switch r := rng.IntN(100); {
	case r < 8:
		return 0
	case r < 13:
		return 3600 + rng.Int64N(5*3600)
	default:
		return 5 + rng.Int64N(20*60)
	}
}

// phoneBook hands out unique WhatsApp numbers; it holds the numbers already taken.
type phoneBook map[string]bool

// draw returns a new number: a Brazilian mobile, or for a foreign contact a US, Portuguese,
// Argentine or British one.
func (taken phoneBook) draw(rng *rand.Rand, foreign bool) string {
	for {
		var p string
		if !foreign {
			ddd := pick(rng, []string{"11", "11", "11", "21", "21", "31", "41", "51", "61", "71", "81", "85", "19"})
			p = fmt.Sprintf("55%s9%08d", ddd, rng.IntN(100000000))
		} else {
			switch rng.IntN(4) {
			case 0:
				p = fmt.Sprintf("1%03d%07d", 201+rng.IntN(780), rng.IntN(10000000))
			case 1:
				p = fmt.Sprintf("3519%08d", rng.IntN(100000000))
			case 2:
				p = fmt.Sprintf("54911%08d", rng.IntN(100000000))
			default:
				p = fmt.Sprintf("447%09d", rng.IntN(1000000000))
			}
		}
		if !taken[p] {
			taken[p] = true
			return p
		}
	}
}

// drawStatus draws history_context.status: the business's messages mostly READ, some
// DELIVERED, SENT, PLAYED (voice) or ERROR; the contact's mostly READ. About one in twenty
// comes in lowercase.
func drawStatus(rng *rand.Rand, outbound, audio bool) string {
	var s string
	r := rng.IntN(100)
	switch {
	case audio && r < 60:
		s = "PLAYED"
	case !outbound && r < 88:
		s = "READ"
	case !outbound && r < 97:
		s = "DELIVERED"
	case !outbound:
		s = "PENDING"
	case r < 58:
		s = "READ"
	case r < 82:
		s = "DELIVERED"
	case r < 94:
		s = "SENT"
	default:
		s = "ERROR"
	}
	if rng.IntN(100) < 5 {
		s = strings.ToLower(s)
	}
	return s
}

// fillText replaces the placeholders of a text template; name "" drops the greeting's name.
func fillText(rng *rand.Rand, s, name string) string {
	if !strings.Contains(s, "{") {
		return s
	}
	if name == "" {
		s = strings.ReplaceAll(s, ", {name}", "")
		s = strings.ReplaceAll(s, " {name}", "")
	}
	// The values are drawn whether used or not, so that the random stream does not depend
	// on the template.
	order := strconv.Itoa(1000 + rng.IntN(9000))
	hour := strconv.Itoa(8 + rng.IntN(11))
	price := fmt.Sprintf("%d,%02d", 10+rng.IntN(290), rng.IntN(100))
	s = strings.ReplaceAll(s, "{name}", name)
	s = strings.ReplaceAll(s, "{order}", order)
	s = strings.ReplaceAll(s, "{hour}", hour)
	return strings.ReplaceAll(s, "{price}", price)
}

func pick[T any](rng *rand.Rand, list []T) T { return list[rng.IntN(len(list))] }
