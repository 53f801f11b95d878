// Package static holds the stylesheet and scripts of the web interface, embedded in the
// binary, and serves them under fingerprinted URLs that browsers may cache for a year.
package static

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"
)

// FS holds css/ and js/ as embedded in the binary.
//
//go:embed css js
var FS embed.FS

// Prefix is the URL path under which the assets are served.
const Prefix = "/static/"

// hashLen is the number of hex digits of the content hash used in URLs.
const hashLen = 12

// Cache-Control values: a URL carrying the current hash never changes its content; anything
// else must be revalidated (the ETag makes that cheap).
const (
	cacheImmutable   = "public, max-age=31536000, immutable"
	cacheRevalidate  = "no-cache"
	versionParameter = "v"
)

// contentType is the type of a file we ship, independent of the machine's MIME database.
func contentType(name string, content []byte) string {
	switch path.Ext(name) {
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".json", ".map":
		return "application/json"
	case ".txt", ".md":
		return "text/plain; charset=utf-8"
	}
	return http.DetectContentType(content)
}

type asset struct {
	content     []byte
	hash        string
	contentType string
}

// Assets serves the files of a file system under Prefix and builds their fingerprinted URLs.
// It is safe for concurrent use.
type Assets struct {
	files map[string]asset
}

// New reads the embedded files and computes their content hashes.
func New() (*Assets, error) {
	return NewFromFS(FS)
}

// NewFromFS is New over any file system (tests use fstest.MapFS).
func NewFromFS(fsys fs.FS) (*Assets, error) {
	a := &Assets{files: map[string]asset{}}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		content, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		sum := sha256.Sum256(content)
		a.files[name] = asset{content: content, hash: hex.EncodeToString(sum[:])[:hashLen], contentType: contentType(name, content)}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load static assets: %w", err)
	}
	if len(a.files) == 0 {
		return nil, fmt.Errorf("load static assets: no files")
	}
	return a, nil
}

// Names lists the served files, sorted (e.g. "css/app.css").
func (a *Assets) Names() []string {
	names := make([]string, 0, len(a.files))
	for n := range a.files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Hash is the short content hash of a file, or "" when there is no such file.
func (a *Assets) Hash(name string) string {
	return a.files[strings.TrimPrefix(name, "/")].hash
}

// Path is the URL of a file with its content hash, e.g. "/static/css/app.css?v=1a2b3c4d5e6f".
// An unknown name gives the plain URL (which answers 404), so a typo shows up in the browser
// console and in tests rather than as a broken page at startup.
func (a *Assets) Path(name string) string {
	name = strings.TrimPrefix(name, "/")
	f, ok := a.files[name]
	if !ok {
		return Prefix + name
	}
	return Prefix + name + "?" + versionParameter + "=" + f.hash
}

// ServeHTTP serves a file. The request path may carry Prefix (it is removed) or not, so the
// handler works both mounted directly and behind http.StripPrefix. Responses whose ?v=
// matches the content hash are cacheable for a year; all others must be revalidated.
func (a *Assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, Prefix), "/")
	f, ok := a.files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", `"`+f.hash+`"`)
	if r.URL.Query().Get(versionParameter) == f.hash {
		h.Set("Cache-Control", cacheImmutable)
	} else {
		h.Set("Cache-Control", cacheRevalidate)
	}
	// No modification time: the ETag alone answers conditional requests.
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.content))
}
