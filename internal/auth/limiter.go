package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// Limits are the sign-in failures allowed within Window before a key is refused until its
// window has passed. Failures are counted three ways:
//   - PerAccountClient: one account from one client address (the usual lock-out);
//   - PerAccount: one account from anywhere (guessing spread over many addresses);
//   - PerClient: one address against any accounts (one password sprayed over many).
//
// "Account" is the user id found for the normalised address, or that address itself when
// there is no such account, so unknown and known addresses are throttled alike.
type Limits struct {
	PerAccountClient int
	PerAccount       int
	PerClient        int
	Window           time.Duration
}

// DefaultLimits: 5 tries per account and client, 20 per account, 50 per client, per 15 min.
var DefaultLimits = Limits{PerAccountClient: 5, PerAccount: 20, PerClient: 50, Window: 15 * time.Minute}

// ThrottleStore keeps the counters in the database, shared by every instance.
type ThrottleStore interface {
	ThrottleCounts(ctx context.Context, keys []string, sinceMs int64) (map[string]int, error)
	AddThrottleFailure(ctx context.Context, keys []string, nowMs, sinceMs int64) error
	ClearThrottle(ctx context.Context, keys ...string) error
	DeleteStaleThrottles(ctx context.Context, beforeMs int64) (int64, error)
}

// throttleKeys names the counters of one attempt. The stored keys are hashes: the table
// holds neither addresses nor e-mails.
type throttleKeys struct {
	accountClient, account, client string
}

func keysFor(userID uint64, normEmail, clientIP string) throttleKeys {
	account := "e:" + normEmail
	if userID != 0 {
		account = "u:" + strconv.FormatUint(userID, 10)
	}
	h := func(s string) string {
		sum := sha256.Sum256([]byte("coexhistory sign-in\x00" + s))
		return hex.EncodeToString(sum[:])
	}
	return throttleKeys{
		accountClient: h("ac\x00" + account + "\x00" + clientIP),
		account:       h("a\x00" + account),
		client:        h("c\x00" + clientIP),
	}
}

func (k throttleKeys) all() []string { return []string{k.accountClient, k.account, k.client} }

// allowed reports whether none of the keys is at its limit. firstRefusal is true for the
// first refused attempt of a window: a refusal counts once more on the keys already at
// their limit (and only those, so hammering a locked account from one address does not
// lock it for every other address), and only the attempt that finds a key exactly at its
// limit goes to the audit log, so hammering cannot fill it.
func (s *Service) allowed(ctx context.Context, k throttleKeys) (ok, firstRefusal bool, err error) {
	now := s.now()
	counts, err := s.throttle.ThrottleCounts(ctx, k.all(), now.Add(-s.limits.Window).UnixMilli())
	if err != nil {
		return false, false, err
	}
	var over []string
	for key, limit := range map[string]int{k.accountClient: s.limits.PerAccountClient, k.account: s.limits.PerAccount, k.client: s.limits.PerClient} {
		if counts[key] >= limit {
			over = append(over, key)
			firstRefusal = firstRefusal || counts[key] == limit
		}
	}
	if len(over) == 0 {
		return true, false, nil
	}
	return false, firstRefusal, s.throttle.AddThrottleFailure(ctx, over, now.UnixMilli(), now.Add(-s.limits.Window).UnixMilli())
}

func (s *Service) failed(ctx context.Context, k throttleKeys) error {
	now := s.now()
	return s.throttle.AddThrottleFailure(ctx, k.all(), now.UnixMilli(), now.Add(-s.limits.Window).UnixMilli())
}

// succeeded forgets this client's failures on this account. The account's and the
// client's own counters stay: a correct password does not buy a sprayer or a distributed
// guesser new tries.
func (s *Service) succeeded(ctx context.Context, k throttleKeys) error {
	return s.throttle.ClearThrottle(ctx, k.accountClient)
}
