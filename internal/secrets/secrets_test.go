package secrets

import (
	"bytes"
	"testing"
)

func TestSealOpen(t *testing.T) {
	box, err := NewBox(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	sealed := box.Seal([]byte("EAAG-secret-token"), []byte("pnid-1"))
	if bytes.Contains(sealed, []byte("EAAG")) {
		t.Fatal("sealed value contains the plain text")
	}
	if again := box.Seal([]byte("EAAG-secret-token"), []byte("pnid-1")); bytes.Equal(again, sealed) {
		t.Fatal("two seals of the same value are equal: nonce reused")
	}
	plain, err := box.Open(sealed, []byte("pnid-1"))
	if err != nil || string(plain) != "EAAG-secret-token" {
		t.Fatalf("Open = %q, %v", plain, err)
	}
	if _, err := box.Open(sealed, []byte("pnid-2")); err == nil {
		t.Fatal("opened with the wrong context")
	}
	other, _ := NewBox(bytes.Repeat([]byte{8}, 32))
	if _, err := other.Open(sealed, []byte("pnid-1")); err == nil {
		t.Fatal("opened with the wrong key")
	}
	if _, err := box.Open([]byte("short"), nil); err == nil {
		t.Fatal("opened garbage")
	}
	if _, err := NewBox([]byte("short")); err == nil {
		t.Fatal("accepted a short key")
	}
}

func TestTokenAndHash(t *testing.T) {
	a, b := Token(32), Token(32)
	if a == b || len(a) != 43 {
		t.Fatalf("tokens %q %q", a, b)
	}
	if h := Hash("x"); h != "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881" {
		t.Fatalf("Hash = %s", h)
	}
}
