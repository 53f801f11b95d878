package provider

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// maxResponseBody bounds what one answer may hold.
const maxResponseBody = 8 << 20

// caller sends authorised JSON calls with the retry policy; Meta and Positus share it.
type caller struct {
	name  string // provider name for logs
	http  *http.Client
	retry RetryPolicy
	log   *slog.Logger
}

func newCaller(name string, hc *http.Client, p RetryPolicy, log *slog.Logger) caller {
	if hc == nil {
		hc = &http.Client{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return caller{name: name, http: hc, retry: p.withDefaults(), log: log}
}

// call is one logical upstream call; it may take several attempts.
type call struct {
	op     string // what it does, for errors and logs
	method string
	url    string
	body   []byte // JSON; nil for none
	token  string
}

// transportError is a failure of one attempt before an answer arrived (network, timeout).
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// retryable reports whether an attempt that failed with err may be repeated.
func retryable(err error) bool {
	var te *transportError
	if errors.As(err, &te) {
		return true
	}
	var ge *GraphAPIError
	return errors.As(err, &ge) && ge.Transient()
}

// do runs r until it succeeds, fails for good, runs out of attempts, or would outlive ctx,
// and returns the body of the 2xx answer. Errors keep the last GraphAPIError for errors.As.
func (c *caller) do(ctx context.Context, r call) ([]byte, error) {
	p := c.retry
	for attempt := 1; ; attempt++ {
		body, err := c.once(ctx, r)
		if err == nil {
			return body, nil
		}
		if cerr := ctx.Err(); cerr != nil {
			if errors.Is(err, cerr) {
				return nil, fmt.Errorf("%s: %w", r.op, err)
			}
			return nil, fmt.Errorf("%s: %w (last error: %w)", r.op, cerr, err)
		}
		if !retryable(err) {
			return nil, fmt.Errorf("%s: %w", r.op, err)
		}
		if attempt >= p.MaxAttempts {
			return nil, fmt.Errorf("%s: gave up after %d attempts: %w", r.op, attempt, err)
		}
		var hint time.Duration
		var ge *GraphAPIError
		if errors.As(err, &ge) {
			hint = ge.RetryAfter
		}
		wait := p.wait(attempt, hint)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
			return nil, fmt.Errorf("%s: not retrying, the deadline comes before the next attempt (in %s): %w", r.op, wait, err)
		}
		c.log.WarnContext(ctx, "upstream call failed, retrying",
			"provider", c.name, "op", r.op, "attempt", attempt, "wait", wait, "error", err.Error())
		if serr := p.Sleep(ctx, wait); serr != nil {
			return nil, fmt.Errorf("%s: %w (last error: %w)", r.op, serr, err)
		}
	}
}

// once makes one attempt under the per-attempt timeout.
func (c *caller) once(ctx context.Context, r call) ([]byte, error) {
	actx, cancel := context.WithTimeout(ctx, c.retry.AttemptTimeout)
	defer cancel()
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(actx, r.method, r.url, body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+r.token)
	req.Header.Set("Accept", "application/json")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
			return nil, &transportError{fmt.Errorf("attempt timed out after %s: %w", c.retry.AttemptTimeout, err)}
		}
		return nil, &transportError{err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if err != nil {
		return nil, &transportError{fmt.Errorf("read answer: %w", err)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, decodeErrorResponse(resp.StatusCode, resp.Header, data, r.token)
	}
	if len(data) > maxResponseBody {
		return nil, fmt.Errorf("answer larger than %d bytes", maxResponseBody)
	}
	return data, nil
}
