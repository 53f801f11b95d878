package coex

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
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

// The decoding types below read a value straight from the stream (json v2's
// UnmarshalerFrom): no copy of the raw value and no reflection.

// flexInt is FlexInt for the parser: set reports whether a value was present.
type flexInt struct {
	n   int64
	set bool
}

func (f *flexInt) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	raw, err := dec.ReadValue()
	if err != nil {
		return err
	}
	n, ok, err := parseFlexIntFast(raw)
	if err != nil {
		return err
	}
	f.n, f.set = n, ok
	return nil
}

// UnmarshalJSONFrom lets FlexInt be decoded by json v2 the same way.
func (f *FlexInt) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	var v flexInt
	if err := v.UnmarshalJSONFrom(dec); err != nil {
		return err
	}
	if v.set {
		*f = FlexInt(v.n)
	}
	return nil
}

// parseFlexIntFast is parseFlexInt with a fast path for plain digits, quoted or not.
func parseFlexIntFast(raw []byte) (int64, bool, error) {
	digits := raw
	if len(digits) >= 2 && digits[0] == '"' && digits[len(digits)-1] == '"' {
		digits = digits[1 : len(digits)-1]
	}
	if len(digits) > 0 && len(digits) <= 18 {
		var n int64
		for _, c := range digits {
			if c < '0' || c > '9' {
				return parseFlexInt(raw)
			}
			n = n*10 + int64(c-'0')
		}
		return n, true, nil
	}
	return parseFlexInt(raw)
}

type flexBool struct {
	b, set bool
}

func (f *flexBool) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	raw, err := dec.ReadValue()
	if err != nil {
		return err
	}
	switch string(raw) {
	case "true":
		f.b, f.set = true, true
		return nil
	case "false":
		f.b, f.set = false, true
		return nil
	case "null":
		return nil
	}
	text, ok, err := scalarText(raw)
	switch {
	case err == nil && ok && raw[0] == '"' && strings.EqualFold(text, "true"):
		f.b, f.set = true, true
	case err == nil && ok && raw[0] == '"' && strings.EqualFold(text, "false"):
		f.b, f.set = false, true
	default:
		return fmt.Errorf("not a boolean: %s", clip(raw))
	}
	return nil
}

type flexFloat struct {
	p *float64
}

func (f *flexFloat) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	raw, err := dec.ReadValue()
	if err != nil {
		return err
	}
	p, err := parseFlexFloat(raw)
	if err != nil {
		return err
	}
	f.p = p
	return nil
}
