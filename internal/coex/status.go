package coex

import "strings"

// NormalizeStatus lowercases and trims a delivery status. "failed" (live
// status webhooks) becomes StatusError; unknown values are kept lowercased.
func NormalizeStatus(s string) string {
	switch s { // the values Meta sends, without an allocation
	case "", StatusPending, StatusSent, StatusDelivered, StatusRead, StatusPlayed, StatusError:
		return s
	case "PENDING":
		return StatusPending
	case "SENT":
		return StatusSent
	case "DELIVERED":
		return StatusDelivered
	case "READ":
		return StatusRead
	case "PLAYED":
		return StatusPlayed
	case "ERROR", "FAILED", "failed":
		return StatusError
	}
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "failed" {
		return StatusError
	}
	return s
}

// StatusRank orders statuses: pending < sent < delivered < read < played <
// error. "" and unknown values rank lowest (0). The input is normalised first.
func StatusRank(s string) int {
	switch NormalizeStatus(s) {
	case StatusPending:
		return 1
	case StatusSent:
		return 2
	case StatusDelivered:
		return 3
	case StatusRead:
		return 4
	case StatusPlayed:
		return 5
	case StatusError:
		return 6
	default:
		return 0
	}
}

// MergeStatus returns the status to keep when incoming arrives for a message
// whose status is current. It never lowers the rank (a late "delivered" never
// replaces "read"); StatusError ranks highest, so it is final. An unknown
// incoming value only replaces an empty current one. The result is normalised.
func MergeStatus(current, incoming string) string {
	cur, in := NormalizeStatus(current), NormalizeStatus(incoming)
	switch {
	case StatusRank(in) > StatusRank(cur):
		return in
	case cur == "":
		return in
	default:
		return cur
	}
}

// Digits strips the formatting characters '+', spaces, '-', '(' and ')' from
// a phone number ("+55 11 98765-0000" → "5511987650000"). Other characters
// are kept, so identifiers that are not phone numbers survive unchanged.
func Digits(phone string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '+', ' ', '\t', '\n', '\r', '-', '(', ')':
			return -1
		}
		return r
	}, phone)
}
