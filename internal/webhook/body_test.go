package webhook

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// chunky returns its data a few bytes per Read.
type chunky struct {
	data []byte
	n    int
}

func (c *chunky) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), c.n, len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func TestReadBody(t *testing.T) {
	body := []byte(strings.Repeat("0123456789", 50_000))
	secret := []byte("s3cret-s3cret-s3cret")
	for _, cl := range []int64{int64(len(body)), -1} {
		b := NewBudget(4 << 20)
		v, err := NewVerifier(secret, Sign(secret, body))
		if err != nil {
			t.Fatal(err)
		}
		got, release, err := ReadBody(&chunky{data: body, n: 7000}, cl, b, Limits{Max: 1 << 20}, nil, v.Hash())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, body) {
			t.Fatalf("content-length %d: body differs (%d bytes)", cl, len(got))
		}
		if err := v.Check(); err != nil {
			t.Fatalf("content-length %d: %v", cl, err)
		}
		if cap(got) > 2*len(body) || (cl > 0 && cap(got) != len(body)) {
			t.Fatalf("content-length %d: cap %d for %d bytes", cl, cap(got), len(body))
		}
		if b.InUse() != int64(cap(got)) {
			t.Fatalf("budget holds %d, buffer is %d", b.InUse(), cap(got))
		}
		release()
		if b.InUse() != 0 {
			t.Fatalf("after release: %d", b.InUse())
		}
	}
	// Too large, chunked and announced.
	b := NewBudget(4 << 20)
	if _, release, err := ReadBody(bytes.NewReader(body), -1, b, Limits{Max: 1000}, nil, nil); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("chunked too large: %v", err)
	} else {
		release()
	}
	if _, _, err := ReadBody(bytes.NewReader(body), int64(len(body)), b, Limits{Max: 1000}, nil, nil); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("announced too large: %v", err)
	}
	// Budget spent.
	small := NewBudget(100 << 10)
	if _, release, err := ReadBody(bytes.NewReader(body), int64(len(body)), small, Limits{Max: 1 << 20}, nil, nil); !errors.Is(err, ErrBusy) {
		t.Fatalf("over budget: %v", err)
	} else {
		release()
	}
	if small.InUse() != 0 {
		t.Fatalf("budget holds %d after a refused body", small.InUse())
	}
}
