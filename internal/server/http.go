package server

import (
	"net/http"
	"time"
)

// HTTP server limits. A client has ReadHeaderTimeout to send its request line and headers
// (a connection that sends only part of them is closed then); a webhook body is then read
// under the receiver's own deadlines (a minimum rate after a grace period, see
// handlers.WebhookConfig), every other body under ReadTimeout.
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 30 * time.Second
	WriteTimeout      = 60 * time.Second
	IdleTimeout       = 60 * time.Second
	MaxHeaderBytes    = 64 << 10
)

// NewHTTPServer returns the http.Server of coexhistory for handler, with the limits above.
func NewHTTPServer(handler http.Handler) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
}
