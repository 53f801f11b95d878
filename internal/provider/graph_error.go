package provider

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// GraphAPIError is an error answer of the Graph API (or of Positus, decoded the same way).
// Build logic on Code, Subcode and Details (Meta's advice), or on Kind; never on the titles.
type GraphAPIError struct {
	HTTPStatus  int
	Message     string
	Type        string
	Code        int
	Subcode     int
	FBTraceID   string
	IsTransient bool
	UserTitle   string // error_user_title
	UserMsg     string // error_user_msg
	Details     string // error_data.details
	// RetryAfter is the least wait the upstream asked for before the next call, from the
	// Retry-After and X-Business-Use-Case-Usage headers (0 when it asked for none).
	RetryAfter time.Duration
}

// Error describes the error for logs. It never holds the access token.
func (e *GraphAPIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d", e.HTTPStatus)
	if e.Code != 0 {
		fmt.Fprintf(&b, ", code %d", e.Code)
		if e.Subcode != 0 {
			fmt.Fprintf(&b, "/%d", e.Subcode)
		}
	}
	if e.Type != "" {
		fmt.Fprintf(&b, " (%s)", e.Type)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Details != "" {
		b.WriteString(": ")
		b.WriteString(e.Details)
	}
	if e.FBTraceID != "" {
		fmt.Fprintf(&b, " [fbtrace_id %s]", e.FBTraceID)
	}
	return b.String()
}

// ErrorKind is what a GraphAPIError means for the product.
type ErrorKind string

// Error kinds.
const (
	KindAlreadyRequested  ErrorKind = "already_requested"  // 2593107
	KindOutsideWindow     ErrorKind = "outside_window"     // 2593108
	KindTokenInvalid      ErrorKind = "token_invalid"      // 190, 102, HTTP 401
	KindNoPermission      ErrorKind = "no_permission"      // 10, 200-299, HTTP 403
	KindInvalidParameter  ErrorKind = "invalid_parameter"  // 100, HTTP 400
	KindNotFound          ErrorKind = "not_found"          // 803, HTTP 404
	KindFieldsUnavailable ErrorKind = "fields_unavailable" // HTTP 422
	KindRateLimited       ErrorKind = "rate_limited"       // 4, 17, 341, 80007, 130429, HTTP 429
	KindUnavailable       ErrorKind = "unavailable"        // 1, 2, 131000, HTTP 5xx
	KindOther             ErrorKind = "other"
)

// Kind classifies the error by its code first, then by its HTTP status.
func (e *GraphAPIError) Kind() ErrorKind {
	switch c := e.Code; {
	case c == 2593107:
		return KindAlreadyRequested
	case c == 2593108:
		return KindOutsideWindow
	case c == 190 || c == 102:
		return KindTokenInvalid
	case c == 10 || (c >= 200 && c <= 299):
		return KindNoPermission
	case c == 4 || c == 17 || c == 341 || c == 80007 || c == 130429:
		return KindRateLimited
	case c == 803:
		return KindNotFound
	case c == 1 || c == 2 || c == 131000:
		return KindUnavailable
	case c == 100:
		switch e.HTTPStatus {
		case http.StatusNotFound:
			return KindNotFound
		case http.StatusUnprocessableEntity:
			return KindFieldsUnavailable
		}
		return KindInvalidParameter
	}
	switch s := e.HTTPStatus; {
	case s == http.StatusBadRequest:
		return KindInvalidParameter
	case s == http.StatusUnauthorized:
		return KindTokenInvalid
	case s == http.StatusForbidden:
		return KindNoPermission
	case s == http.StatusNotFound:
		return KindNotFound
	case s == http.StatusUnprocessableEntity:
		return KindFieldsUnavailable
	case s == http.StatusTooManyRequests:
		return KindRateLimited
	case s >= 500:
		return KindUnavailable
	}
	return KindOther
}

// Meaning is the error in plain words for staff, without internals.
func (e *GraphAPIError) Meaning() string {
	switch e.Kind() {
	case KindAlreadyRequested:
		return "Already requested: Meta accepts this sync only once per number."
	case KindOutsideWindow:
		return "Outside the 24 h window: Meta accepts the sync only within 24 hours of onboarding; the business must onboard again."
	case KindTokenInvalid:
		return "The access token has expired or is invalid; update the number's token."
	case KindNoPermission:
		return "The access token has no permission for this number or data."
	case KindInvalidParameter:
		return "The request had an invalid parameter (for example a bad status filter)."
	case KindNotFound:
		return "Not found: Meta has no history for it."
	case KindFieldsUnavailable:
		return "The requested fields are not available for this API version."
	case KindRateLimited:
		return "Rate limited: too many calls for now; try again later."
	case KindUnavailable:
		return "The upstream had a temporary problem; try again later."
	}
	return "The upstream answered with an unexpected error."
}

// SafeMessage is Meaning plus the codes that identify the error in a support case.
func (e *GraphAPIError) SafeMessage() string {
	var ref []string
	if e.Code != 0 {
		c := "code " + strconv.Itoa(e.Code)
		if e.Subcode != 0 {
			c += "/" + strconv.Itoa(e.Subcode)
		}
		ref = append(ref, c)
	}
	ref = append(ref, "HTTP "+strconv.Itoa(e.HTTPStatus))
	if e.FBTraceID != "" {
		ref = append(ref, "trace "+e.FBTraceID)
	}
	return e.Meaning() + " (" + strings.Join(ref, ", ") + ")"
}

// Transient reports whether the same call may succeed later: HTTP 429 or 5xx, is_transient,
// or a code in {1, 2, 4, 17, 341, 80007, 130429, 131000}. Codes that need a fix first (100,
// 190, 10, 200-299, 2593107, 2593108) are never transient, whatever else the answer says.
func (e *GraphAPIError) Transient() bool {
	switch c := e.Code; {
	case c == 100 || c == 190 || c == 102 || c == 10 || (c >= 200 && c <= 299) || c == 2593107 || c == 2593108:
		return false
	case c == 1 || c == 2 || c == 4 || c == 17 || c == 341 || c == 80007 || c == 130429 || c == 131000:
		return true
	}
	return e.IsTransient || e.HTTPStatus == http.StatusTooManyRequests || e.HTTPStatus >= 500
}

// KindOf returns the kind of the GraphAPIError in err's chain, or "" when there is none.
func KindOf(err error) ErrorKind {
	var ge *GraphAPIError
	if errors.As(err, &ge) {
		return ge.Kind()
	}
	return ""
}

// maxErrorText bounds the text taken from an error body that is not a Graph error.
const maxErrorText = 300

// graphErrorBody is the JSON shape of a Graph API error answer.
type graphErrorBody struct {
	Message        string          `json:"message"`
	Type           string          `json:"type"`
	Code           int             `json:"code"`
	ErrorSubcode   int             `json:"error_subcode"`
	FBTraceID      string          `json:"fbtrace_id"`
	IsTransient    bool            `json:"is_transient"`
	ErrorUserTitle string          `json:"error_user_title"`
	ErrorUserMsg   string          `json:"error_user_msg"`
	ErrorData      json.RawMessage `json:"error_data"`
}

// decodeErrorResponse turns a non-2xx answer into a GraphAPIError. Bodies that are not Graph
// errors keep their HTTP status and a short, cleaned excerpt. token is removed from every text.
func decodeErrorResponse(status int, header http.Header, body []byte, token string) *GraphAPIError {
	e := &GraphAPIError{HTTPStatus: status, RetryAfter: waitHint(header)}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		e.Message = excerpt("non-JSON error body", body)
		return redactError(e, token)
	}
	var g graphErrorBody
	var s string
	switch {
	case json.Unmarshal(top["error"], &g) == nil && (g.Message != "" || g.Code != 0):
		e.Message = g.Message
		e.Type = g.Type
		e.Code = g.Code
		e.Subcode = g.ErrorSubcode
		e.FBTraceID = g.FBTraceID
		e.IsTransient = g.IsTransient
		e.UserTitle = g.ErrorUserTitle
		e.UserMsg = g.ErrorUserMsg
		e.Details = errorDetails(g.ErrorData)
	case json.Unmarshal(top["error"], &s) == nil && s != "":
		e.Message = clean(s)
	case json.Unmarshal(top["message"], &s) == nil && s != "":
		e.Message = clean(s)
	default:
		e.Message = excerpt("unrecognised error body", body)
	}
	return redactError(e, token)
}

// errorDetails reads error_data.details; older Graph answers send error_data as a JSON string.
func errorDetails(raw json.RawMessage) string {
	var d struct {
		Details string `json:"details"`
	}
	if json.Unmarshal(raw, &d) == nil {
		return d.Details
	}
	var s string
	if json.Unmarshal(raw, &s) == nil && json.Unmarshal([]byte(s), &d) == nil {
		return d.Details
	}
	return ""
}

// excerpt is a labelled, cleaned, bounded piece of a body for an error message.
func excerpt(label string, body []byte) string {
	s := clean(string(body))
	if s == "" {
		return label + " (empty)"
	}
	return label + ": " + s
}

// clean makes upstream text safe for one log line: valid UTF-8, no control characters,
// collapsed spaces, at most maxErrorText runes.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "�")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > maxErrorText {
		s = string(r[:maxErrorText]) + "…"
	}
	return s
}

// redactError removes the token from every text of e.
func redactError(e *GraphAPIError, token string) *GraphAPIError {
	for _, f := range []*string{&e.Message, &e.Type, &e.FBTraceID, &e.UserTitle, &e.UserMsg, &e.Details} {
		*f = redact(*f, token)
	}
	return e
}

// redact replaces token in s.
func redact(s, token string) string {
	if token == "" {
		return s
	}
	return strings.ReplaceAll(s, token, "[redacted]")
}

// waitHint is the least wait the upstream asks for: Retry-After (seconds or an HTTP date) and
// the largest estimated_time_to_regain_access (minutes) of X-Business-Use-Case-Usage.
func waitHint(h http.Header) time.Duration {
	return max(retryAfter(h.Get("Retry-After")), regainAccess(h.Get("X-Business-Use-Case-Usage")))
}

func retryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		return clampHint(secs, time.Second)
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return min(d, maxHint)
		}
	}
	return 0
}

func regainAccess(v string) time.Duration {
	if strings.TrimSpace(v) == "" {
		return 0
	}
	var usage map[string][]struct {
		EstimatedTimeToRegainAccess float64 `json:"estimated_time_to_regain_access"`
	}
	if json.Unmarshal([]byte(v), &usage) != nil {
		return 0
	}
	var most float64
	for _, entries := range usage {
		for _, u := range entries {
			most = max(most, u.EstimatedTimeToRegainAccess)
		}
	}
	return clampHint(most, time.Minute)
}

// maxHint bounds a header's wait before it is turned into a Duration (no overflow); the retry
// policy's cap applies afterwards.
const maxHint = 24 * time.Hour

func clampHint(n float64, unit time.Duration) time.Duration {
	switch {
	case !(n > 0): // also NaN
		return 0
	case n >= float64(maxHint/unit):
		return maxHint
	}
	return time.Duration(n * float64(unit))
}
