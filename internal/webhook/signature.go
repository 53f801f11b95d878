// Package webhook authenticates incoming WhatsApp webhook deliveries.
//
// Meta signs every POST with the app secret: the header X-Hub-Signature-256
// carries "sha256=" followed by the hex HMAC-SHA256 of the exact raw body.
// The check must run on the raw bytes, before any JSON parsing.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"hash"
	"strings"
)

// SignatureHeader is the HTTP header that carries the body signature.
const SignatureHeader = "X-Hub-Signature-256"

// signaturePrefix precedes the hex digest in the header value.
const signaturePrefix = "sha256="

// Errors returned by Verify. Compare with errors.Is.
var (
	// ErrMissingSignature means the request carried no signature header value.
	ErrMissingSignature = errors.New("webhook: missing signature")
	// ErrBadSignature means the header was malformed or did not match the body.
	ErrBadSignature = errors.New("webhook: bad signature")
	// ErrNoSecret means Verify was called without a secret; nothing can be verified.
	ErrNoSecret = errors.New("webhook: no secret configured")
)

// Sign returns the header value Meta would send for body: "sha256=<hex>".
func Sign(secret, body []byte) string {
	return signaturePrefix + hex.EncodeToString(mac(secret, body))
}

// Verify checks header (the X-Hub-Signature-256 value) against the HMAC-SHA256
// of body keyed with secret. The digest comparison runs in constant time.
// It returns nil on success, ErrMissingSignature when header is empty,
// ErrNoSecret when secret is empty, and ErrBadSignature for any malformed or
// non-matching value.
func Verify(secret []byte, body []byte, header string) error {
	header = strings.TrimSpace(header)
	if header == "" {
		return ErrMissingSignature
	}
	if len(secret) == 0 {
		return ErrNoSecret
	}
	digestHex, ok := strings.CutPrefix(header, signaturePrefix)
	if !ok {
		return ErrBadSignature
	}
	got, err := hex.DecodeString(digestHex)
	if err != nil || len(got) != sha256.Size {
		return ErrBadSignature
	}
	if !hmac.Equal(got, mac(secret, body)) {
		return ErrBadSignature
	}
	return nil
}

// SecretEqual reports whether the presented secret equals the expected one,
// in time that depends on neither value's content nor length. An empty
// expected or presented value never matches, so an unset secret cannot be
// satisfied by an empty request parameter.
func SecretEqual(expected, presented string) bool {
	if expected == "" || presented == "" {
		return false
	}
	// Hashing first gives equal-length inputs, so the comparison does not
	// leak the expected length.
	e := sha256.Sum256([]byte(expected))
	p := sha256.Sum256([]byte(presented))
	return subtle.ConstantTimeCompare(e[:], p[:]) == 1
}

func mac(secret, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write(body)
	return h.Sum(nil)
}

// Verifier checks a signature while the body arrives: the header is checked before any of
// the body is read, and the body's HMAC is computed as its bytes come (write them to
// Hash), so a request whose header is missing or malformed is refused at once.
type Verifier struct {
	want []byte
	h    hash.Hash
}

// NewVerifier parses header (the X-Hub-Signature-256 value). It fails with the errors of
// Verify for an empty secret or a missing or malformed header.
func NewVerifier(secret []byte, header string) (*Verifier, error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return nil, ErrMissingSignature
	}
	if len(secret) == 0 {
		return nil, ErrNoSecret
	}
	digestHex, ok := strings.CutPrefix(header, signaturePrefix)
	if !ok {
		return nil, ErrBadSignature
	}
	want, err := hex.DecodeString(digestHex)
	if err != nil || len(want) != sha256.Size {
		return nil, ErrBadSignature
	}
	return &Verifier{want: want, h: hmac.New(sha256.New, secret)}, nil
}

// Hash receives the body's bytes.
func (v *Verifier) Hash() hash.Hash { return v.h }

// Check compares, in constant time, the HMAC of the bytes written with the header's.
func (v *Verifier) Check() error {
	if !hmac.Equal(v.want, v.h.Sum(nil)) {
		return ErrBadSignature
	}
	return nil
}
