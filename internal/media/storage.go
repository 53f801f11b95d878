// Package media keeps the customers' media for good: it downloads each media id of a
// message from Meta (or Positus) before the provider's copy expires, streams it into a
// storage (a local directory or S3-compatible object storage, through gocloud.dev/blob),
// named by its SHA-256 so that identical files are kept once, and runs the durable download
// jobs of the database with leases and bounded concurrency.
package media

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/memblob"
	_ "gocloud.dev/blob/s3blob" // s3:// URLs
	"gocloud.dev/gcerrors"
)

// ErrSHAMismatch means the downloaded bytes do not have the SHA-256 the provider announced.
// Nothing is stored.
var ErrSHAMismatch = errors.New("sha256 mismatch")

// ErrTooLarge means the file is larger than the storage accepts. Nothing is stored.
var ErrTooLarge = errors.New("file too large")

// ErrNotStored means the storage has no file of that SHA-256.
var ErrNotStored = errors.New("media file not stored")

// DefaultMaxBytes bounds one file (WhatsApp documents go up to 100 MB).
const DefaultMaxBytes = 256 << 20

// Storage keeps media files by SHA-256. It is safe for concurrent use.
type Storage struct {
	bucket *blob.Bucket
	desc   string
}

// OpenStorage opens the storage named by rawURL (COEX_MEDIA_URL):
//   - a directory path, or file:///abs/path: a local directory (created when missing);
//   - s3://bucket?endpoint=https://host&region=eu-west-1[&use_path_style=true]: S3 or an
//     S3-compatible object store, credentials from the usual AWS environment variables;
//   - mem://: in memory (tests).
func OpenStorage(ctx context.Context, rawURL string) (*Storage, error) {
	switch {
	case rawURL == "":
		return nil, errors.New("media storage: empty URL")
	case strings.HasPrefix(rawURL, "mem://"):
		return &Storage{bucket: memblob.OpenBucket(nil), desc: "memory"}, nil
	case strings.HasPrefix(rawURL, "s3://"):
		u, err := url.Parse(rawURL)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("media storage: %q is not an s3://bucket?… URL", rawURL)
		}
		b, err := blob.OpenBucket(ctx, rawURL)
		if err != nil {
			return nil, fmt.Errorf("media storage: %w", err)
		}
		return &Storage{bucket: b, desc: "s3://" + u.Host}, nil
	}
	dir := rawURL
	if strings.HasPrefix(rawURL, "file://") {
		u, err := url.Parse(rawURL)
		if err != nil {
			return nil, fmt.Errorf("media storage: %w", err)
		}
		dir = u.Path
	} else if strings.Contains(rawURL, "://") {
		return nil, fmt.Errorf("media storage: unsupported URL %q (a directory, file://, s3:// or mem://)", rawURL)
	}
	// Temporary files next to the final ones: the rename that publishes a file never
	// crosses a file system. No attribute sidecar files: the database keeps each file's
	// type, so a file costs one create and one rename.
	b, err := fileblob.OpenBucket(dir, &fileblob.Options{CreateDir: true, NoTempDir: true, DirFileMode: 0o750, Metadata: fileblob.MetadataDontWrite})
	if err != nil {
		return nil, fmt.Errorf("media storage %s: %w", dir, err)
	}
	return &Storage{bucket: b, desc: dir}, nil
}

// NewStorage wraps an open bucket (tests, or a backend set up by the caller).
func NewStorage(b *blob.Bucket, desc string) *Storage { return &Storage{bucket: b, desc: desc} }

// String names the storage (a directory or s3://bucket), never credentials.
func (s *Storage) String() string { return s.desc }

// Close closes the storage.
func (s *Storage) Close() error { return s.bucket.Close() }

// Key is the storage key of the file with SHA-256 sum (hex).
func Key(sum string) string { return "sha256/" + sum[:2] + "/" + sum }

// ValidSHA256 reports whether s is 64 lowercase hex characters.
func ValidSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Has reports whether the file with SHA-256 sum is stored.
func (s *Storage) Has(ctx context.Context, sum string) (bool, error) {
	if !ValidSHA256(sum) {
		return false, nil
	}
	return s.bucket.Exists(ctx, Key(sum))
}

// Stored is a file written by Put.
type Stored struct {
	SHA256 string
	Size   int64
	Dedup  bool // the file was already stored; nothing new was written
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// Put streams r into the storage. With want (the announced SHA-256, hex) the bytes go
// straight to their final key and the write is aborted, leaving nothing, when they do not
// match; without it they go to a temporary key and are copied to their final key. Memory
// use does not depend on the file's size. A file of more than maxBytes is refused.
func (s *Storage) Put(ctx context.Context, r io.Reader, want, mimeType string, maxBytes int64) (Stored, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if mimeType == "" {
		mimeType = "application/octet-stream"
	}
	key := ""
	if ValidSHA256(want) {
		key = Key(want)
	} else {
		want = ""
		key = "tmp/" + randomName()
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := s.bucket.NewWriter(wctx, key, &blob.WriterOptions{ContentType: mimeType, DisableContentTypeDetection: true})
	if err != nil {
		return Stored{}, fmt.Errorf("store media: %w", err)
	}
	h := sha256.New()
	buf := copyBufs.Get().(*[]byte)
	n, err := io.CopyBuffer(io.MultiWriter(w, h), io.LimitReader(r, maxBytes+1), *buf)
	copyBufs.Put(buf)
	abort := func(e error) (Stored, error) {
		cancel()
		_ = w.Close()
		return Stored{}, e
	}
	if err != nil {
		return abort(err)
	}
	if n > maxBytes {
		return abort(fmt.Errorf("%w: more than %d bytes", ErrTooLarge, maxBytes))
	}
	got := hex.EncodeToString(h.Sum(nil))
	if want != "" && got != want {
		return abort(fmt.Errorf("%w: announced %s, received %s (%d bytes)", ErrSHAMismatch, want, got, n))
	}
	if err := w.Close(); err != nil {
		return Stored{}, fmt.Errorf("store media: %w", err)
	}
	if want == "" {
		defer func() { _ = s.bucket.Delete(context.WithoutCancel(ctx), key) }()
		if ok, _ := s.bucket.Exists(ctx, Key(got)); ok {
			return Stored{SHA256: got, Size: n, Dedup: true}, nil
		}
		if err := s.bucket.Copy(ctx, Key(got), key, nil); err != nil {
			return Stored{}, fmt.Errorf("store media: %w", err)
		}
	}
	return Stored{SHA256: got, Size: n}, nil
}

// Delete removes the file with SHA-256 sum; a missing file is no error.
func (s *Storage) Delete(ctx context.Context, sum string) error {
	if !ValidSHA256(sum) {
		return nil
	}
	err := s.bucket.Delete(ctx, Key(sum))
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil
	}
	return err
}

// Object is a stored file opened for reading: an io.ReadSeeker that reads ranges of the
// blob on demand, for http.ServeContent.
type Object struct {
	ctx     context.Context
	bucket  *blob.Bucket
	key     string
	size    int64
	modTime time.Time
	off     int64
	r       *blob.Reader
	rOff    int64
}

// Open opens the file with SHA-256 sum. ErrNotStored when it is missing.
func (s *Storage) Open(ctx context.Context, sum string) (*Object, error) {
	if !ValidSHA256(sum) {
		return nil, ErrNotStored
	}
	attrs, err := s.bucket.Attributes(ctx, Key(sum))
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, ErrNotStored
	}
	if err != nil {
		return nil, fmt.Errorf("open media: %w", err)
	}
	return &Object{ctx: ctx, bucket: s.bucket, key: Key(sum), size: attrs.Size, modTime: attrs.ModTime}, nil
}

// Size is the file's length in bytes.
func (o *Object) Size() int64 { return o.size }

// ModTime is when the file was stored.
func (o *Object) ModTime() time.Time { return o.modTime }

// Read reads from the current offset; it opens a range reader from there on first use and
// after a Seek.
func (o *Object) Read(p []byte) (int, error) {
	if o.off >= o.size {
		return 0, io.EOF
	}
	if o.r == nil || o.rOff != o.off {
		if o.r != nil {
			_ = o.r.Close()
		}
		r, err := o.bucket.NewRangeReader(o.ctx, o.key, o.off, -1, nil)
		if err != nil {
			return 0, err
		}
		o.r, o.rOff = r, o.off
	}
	n, err := o.r.Read(p)
	o.off += int64(n)
	o.rOff += int64(n)
	return n, err
}

// Seek moves the offset; nothing is read until the next Read.
func (o *Object) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = o.off + offset
	case io.SeekEnd:
		abs = o.size + offset
	default:
		return 0, errors.New("media object: bad whence")
	}
	if abs < 0 {
		return 0, errors.New("media object: negative offset")
	}
	o.off = abs
	return abs, nil
}

// Close releases the reader.
func (o *Object) Close() error {
	if o.r != nil {
		return o.r.Close()
	}
	return nil
}

func randomName() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:]) + "-" + fmt.Sprint(os.Getpid())
}

// SumHex is the SHA-256 of b in hex.
func SumHex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
