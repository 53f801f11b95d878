package webhook

import (
	"errors"
	"strings"
	"testing"
)

func TestSignKnownVector(t *testing.T) {
	// RFC 4231 test case 2.
	got := Sign([]byte("Jefe"), []byte("what do ya want for nothing?"))
	want := "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
	if got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
}

func TestVerify(t *testing.T) {
	secret := []byte("app-secret")
	body := []byte(`{"object":"whatsapp_business_account","entry":[]}`)
	good := Sign(secret, body)
	digest := strings.TrimPrefix(good, "sha256=")

	tests := []struct {
		name   string
		secret []byte
		body   []byte
		header string
		want   error
	}{
		{"valid", secret, body, good, nil},
		{"valid with surrounding spaces", secret, body, "  " + good + " ", nil},
		{"valid uppercase hex", secret, body, "sha256=" + strings.ToUpper(digest), nil},
		{"empty header", secret, body, "", ErrMissingSignature},
		{"blank header", secret, body, "   ", ErrMissingSignature},
		{"empty secret", nil, body, good, ErrNoSecret},
		{"no prefix", secret, body, digest, ErrBadSignature},
		{"sha1 prefix", secret, body, "sha1=" + digest, ErrBadSignature},
		{"prefix only", secret, body, "sha256=", ErrBadSignature},
		{"not hex", secret, body, "sha256=" + strings.Repeat("zz", 32), ErrBadSignature},
		{"odd hex length", secret, body, good[:len(good)-1], ErrBadSignature},
		{"short digest", secret, body, good[:len(good)-2], ErrBadSignature},
		{"long digest", secret, body, good + "00", ErrBadSignature},
		{"wrong secret", []byte("other"), body, good, ErrBadSignature},
		{"body changed by one byte", secret, append([]byte(nil), body[:len(body)-1]...), good, ErrBadSignature},
		{"body reformatted", secret, []byte(`{"object": "whatsapp_business_account", "entry": []}`), good, ErrBadSignature},
		{"flipped digit", secret, body, flipLastHex(good), ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.secret, tt.body, tt.header)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSecretEqual(t *testing.T) {
	tests := []struct {
		name                string
		expected, presented string
		want                bool
	}{
		{"equal", "verify-token-123", "verify-token-123", true},
		{"different", "verify-token-123", "verify-token-124", false},
		{"prefix", "verify-token-123", "verify-token", false},
		{"longer", "verify-token", "verify-token-123", false},
		{"case differs", "Token", "token", false},
		{"empty expected", "", "", false},
		{"empty presented", "verify-token", "", false},
		{"empty expected, non-empty presented", "", "x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SecretEqual(tt.expected, tt.presented); got != tt.want {
				t.Fatalf("SecretEqual(%q, %q) = %v, want %v", tt.expected, tt.presented, got, tt.want)
			}
		})
	}
}

func flipLastHex(s string) string {
	last := s[len(s)-1]
	repl := byte('0')
	if last == '0' {
		repl = '1'
	}
	return s[:len(s)-1] + string(repl)
}
