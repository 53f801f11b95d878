package config

import (
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// MediaConfig is where customer media are kept and how they are downloaded.
type MediaConfig struct {
	// URL is COEX_MEDIA_URL: a directory, file:///dir, or s3://bucket?endpoint=…&region=…
	// (credentials from the usual AWS_* environment variables), or mem:// (in memory, for
	// tests). Default: a "media" directory
	// beside the SQLite file, or data/media with MySQL/MariaDB.
	URL string
	// Retention is COEX_MEDIA_RETENTION: files of messages older than this are deleted
	// (0, the default: kept for good).
	Retention time.Duration
	// Workers is COEX_MEDIA_WORKERS: downloads at once per instance, default 4.
	Workers int
	// DownloadHosts is COEX_MEDIA_DOWNLOAD_HOSTS: comma-separated domains download URLs may
	// point to besides the providers' own (the access token goes with every download).
	DownloadHosts []string
}

// DefaultMediaURL is the media directory for a database URL: beside the SQLite file, or
// data/media.
func DefaultMediaURL(databaseURL string) string {
	if path, ok := strings.CutPrefix(databaseURL, "sqlite:"); ok {
		path = strings.TrimPrefix(path, "//")
		if path != "" && path != ":memory:" {
			return filepath.Join(filepath.Dir(path), "media")
		}
	}
	return filepath.Join("data", "media")
}

func loadMedia(getenv func(string) string, databaseURL string) (MediaConfig, error) {
	m := MediaConfig{URL: getenv("COEX_MEDIA_URL"), Workers: 4}
	if m.URL == "" {
		m.URL = DefaultMediaURL(databaseURL)
	}
	if strings.Contains(m.URL, "://") && !strings.HasPrefix(m.URL, "s3://") && !strings.HasPrefix(m.URL, "file://") && m.URL != "mem://" {
		return m, &Error{"COEX_MEDIA_URL", "must be a directory, file:///dir or s3://bucket?endpoint=…&region=…"}
	}
	if strings.HasPrefix(m.URL, "s3://") && len(m.URL) <= len("s3://") {
		return m, &Error{"COEX_MEDIA_URL", "s3:// needs a bucket name"}
	}
	if v := getenv("COEX_MEDIA_RETENTION"); v != "" {
		d, err := parseRetention(v)
		if err != nil {
			return m, &Error{"COEX_MEDIA_RETENTION", `must be a duration such as "8760h" or "365d" (or 0 for off)`}
		}
		m.Retention = d
	}
	if v := getenv("COEX_MEDIA_WORKERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 64 {
			return m, &Error{"COEX_MEDIA_WORKERS", "must be a number from 1 to 64"}
		}
		m.Workers = n
	}
	for _, h := range strings.Split(getenv("COEX_MEDIA_DOWNLOAD_HOSTS"), ",") {
		h = strings.ToLower(strings.Trim(strings.TrimSpace(h), "."))
		if h == "" {
			continue
		}
		if strings.ContainsAny(h, "/:@ ") {
			return m, &Error{"COEX_MEDIA_DOWNLOAD_HOSTS", "must be domain names separated by commas, such as cdn.example.com"}
		}
		m.DownloadHosts = append(m.DownloadHosts, h)
	}
	return m, nil
}

// parseRetention reads a Go duration or a number of days ("365d").
func parseRetention(v string) (time.Duration, error) {
	if v == "0" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 {
			return 0, strconv.ErrSyntax
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Hour {
		return 0, strconv.ErrSyntax
	}
	return d, nil
}
