package coex

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// FlexInt is an integer that may arrive as a JSON number (42) or as a numeric
// string ("42"). null leaves it unchanged. Integral floats (42.0, 1.7e9) are
// accepted; anything else is an error.
type FlexInt int64

// UnmarshalJSON implements json.Unmarshaler.
func (f *FlexInt) UnmarshalJSON(b []byte) error {
	n, ok, err := parseFlexInt(b)
	if err != nil {
		return err
	}
	if ok {
		*f = FlexInt(n)
	}
	return nil
}

// parseFlexInt parses raw as a FlexInt. ok is false when raw is absent or null.
func parseFlexInt(raw []byte) (n int64, ok bool, err error) {
	text, ok, err := scalarText(raw)
	if err != nil || !ok {
		return 0, false, err
	}
	if n, err := strconv.ParseInt(text, 10, 64); err == nil {
		return n, true, nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, false, fmt.Errorf("not an integer: %s", clip(raw))
	}
	return int64(f), true, nil
}

// parseFlexFloat parses a number or numeric string. It returns nil when raw is
// absent or null.
func parseFlexFloat(raw []byte) (*float64, error) {
	text, ok, err := scalarText(raw)
	if err != nil || !ok {
		return nil, err
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("not a number: %s", clip(raw))
	}
	return &f, nil
}

// parseFlexBool accepts true/false or "true"/"false"; absent or null is false.
func parseFlexBool(raw []byte) (bool, error) {
	text, ok, err := scalarText(raw)
	if err != nil || !ok {
		return false, err
	}
	b, err := strconv.ParseBool(text)
	if err != nil {
		return false, fmt.Errorf("not a boolean: %s", clip(raw))
	}
	return b, nil
}

// scalarText returns the trimmed text of a JSON number, boolean or string.
// ok is false for absent or null values; objects and arrays are errors.
func scalarText(raw []byte) (text string, ok bool, err error) {
	raw = bytes.TrimSpace(raw)
	if isAbsent(raw) {
		return "", false, nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false, fmt.Errorf("bad string %s: %w", clip(raw), err)
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return "", false, fmt.Errorf("empty string")
		}
		return s, true, nil
	case '{', '[':
		return "", false, fmt.Errorf("want a scalar, got %s", clip(raw))
	default:
		return string(raw), true, nil
	}
}

// isAbsent reports whether a raw JSON value is missing or null.
func isAbsent(raw []byte) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// clip shortens a raw value for error messages.
func clip(raw []byte) string {
	const limit = 40
	if len(raw) <= limit {
		return string(raw)
	}
	return string(raw[:limit]) + "…"
}
