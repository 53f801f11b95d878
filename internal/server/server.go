// Package server builds the HTTP server of coexhistory: it creates the concrete services,
// wires them into the handlers, and sets the middleware order. It is the one place where
// dependencies meet.
package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"coexhistory/handlers"
	"coexhistory/internal/auth"
	"coexhistory/internal/config"
	"coexhistory/internal/events"
	"coexhistory/internal/ingest"
	"coexhistory/internal/media"
	"coexhistory/internal/metrics"
	"coexhistory/internal/provider"
	"coexhistory/internal/proxies"
	"coexhistory/internal/registry"
	"coexhistory/internal/search"
	"coexhistory/internal/secrets"
	"coexhistory/internal/store"
	"coexhistory/internal/syncer"
	"coexhistory/internal/webhook"
	"coexhistory/models"
	"coexhistory/static"
)

// Services are the long-lived parts built from the configuration, shared by the HTTP
// server and the background workers.
type Services struct {
	Config   config.Config
	DB       *store.DB
	Logger   *slog.Logger
	Auth     *auth.Service
	Registry *registry.Service
	Assets   *static.Assets
	Events   *events.Service // delivery timelines of messages
	Sync     *syncer.Service // history sync requests and their timeouts
	Ingest   *ingest.Worker  // applies received webhooks; one per instance, Config.Workers rows at a time
	Pacer    *ingest.Pacer   // webhooks being received now, which ingest lets go first
	// WebhookBudget bounds the bytes of webhook bodies being read at once (Config.WebhookMemory).
	WebhookBudget *webhook.Budget
	// OnPurged is told how many inbox bodies retention removed (the metrics; optional).
	OnPurged func(n int64)
	// WebhookMinRate and WebhookGrace: the average bytes/s a webhook body must keep once
	// the grace period has passed (zero: the handlers' defaults).
	WebhookMinRate int64
	WebhookGrace   time.Duration
	Now            func() time.Time
	MediaStorage   *media.Storage // customer media files, by SHA-256 (COEX_MEDIA_URL)
	Media          *media.Worker  // downloads media before the provider's copy expires
	// Metrics are this instance's Prometheus metrics, on their own registry.
	Metrics *metrics.Metrics
}

// maxIngestYield bounds each wait of ingest for webhooks being received, so that a steady
// stream of live webhooks slows applying down but never stops it.
const maxIngestYield = time.Second

// NewServices builds the services of one app instance.
func NewServices(cfg config.Config, db *store.DB, logger *slog.Logger, now func() time.Time) (*Services, error) {
	box, err := secrets.NewBox(cfg.SecretKey)
	if err != nil {
		return nil, err
	}
	assets, err := static.New()
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	s := &Services{
		Config:   cfg,
		DB:       db,
		Logger:   logger,
		Auth:     auth.New(db, auth.DefaultLimits, now, 0),
		Registry: registry.New(db, box),
		Assets:   assets,
		Now:      now,
	}
	if cfg.WebhookMemory > 0 {
		s.WebhookBudget = webhook.NewBudget(cfg.WebhookMemory)
	}
	s.Metrics = metrics.New(db.SQL(), s.metricsSnapshot)
	s.OnPurged = s.Metrics.Purged
	db.OnConflict(s.Metrics.DatabaseConflict)
	s.Events = events.New(events.Config{
		Store:  db,
		Tokens: s.Registry,
		Meta: provider.NewMeta(provider.MetaConfig{
			BaseURL: cfg.GraphBaseURL, Version: cfg.GraphAPIVersion, HTTP: s.providerHTTP(models.ProviderMeta),
			Retry: s.countRetries(models.ProviderMeta, events.InteractiveRetry()), Logger: logger,
		}),
		APIVersion: cfg.GraphAPIVersion,
		CacheTTL:   cfg.EventsCacheTTL,
		Now:        now,
		Logger:     logger,
	})
	// Applying is background work while Meta waits for the answer to each webhook: before a
	// row and between the statements of a chunk, ingest waits (at most maxIngestYield) while
	// any webhook is being received.
	s.Pacer = ingest.NewPacer(maxIngestYield)
	s.Ingest = ingest.New(store.NewIngester(db, s.Pacer.Wait), logger, ingest.Options{
		Concurrency: cfg.Workers, Instance: cfg.InstanceID, RequireRegistered: true, Yield: s.Pacer.Wait, Now: now,
		Observer: ingest.Observer{Row: s.Metrics.Row, Chunk: s.Metrics.Chunk},
	})
	// A number just registered gets the webhooks kept for it applied now.
	s.Registry.OnSaved(func(ctx context.Context, pnid string) {
		if n, err := db.ReleaseUnknownNumber(ctx, pnid); err != nil {
			logger.Warn("release webhooks kept for a number", "phone_number_id", pnid, "err", err)
		} else if n > 0 {
			logger.Info("webhooks kept for a number released", "phone_number_id", pnid, "rows", n)
			s.Ingest.Notify()
		}
	})
	if err := s.initMedia(s.Pacer.Wait); err != nil {
		return nil, err
	}
	s.Sync = syncer.New(syncer.Config{
		Store:  db,
		Tokens: s.Registry,
		Providers: map[string]provider.SyncRequester{
			models.ProviderMeta: provider.NewMeta(provider.MetaConfig{
				BaseURL: cfg.GraphBaseURL, Version: cfg.GraphAPIVersion, HTTP: s.providerHTTP(models.ProviderMeta),
				Retry: s.countRetries(models.ProviderMeta, syncRetry()), Logger: logger,
			}),
			models.ProviderPositus: provider.NewPositus(provider.PositusConfig{
				BaseURL: cfg.PositusBaseURL, HTTP: s.providerHTTP(models.ProviderPositus),
				Retry: s.countRetries(models.ProviderPositus, syncRetry()), Logger: logger,
			}),
		},
		Timeout: cfg.SyncTimeout,
		Now:     now,
		Logger:  logger,
	})
	return s, nil
}

// syncRetry is the retry policy of sync requests: staff wait for the answer, so a few quick
// retries within syncer.DefaultCallBudget.
func syncRetry() provider.RetryPolicy {
	return provider.RetryPolicy{MaxAttempts: 4, Base: 500 * time.Millisecond, Cap: 5 * time.Second, AttemptTimeout: 10 * time.Second}
}

// New returns the HTTP handler of the dashboard.
func New(s *Services) http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	h := handlers.New(handlers.Deps{
		Logger:         s.Logger,
		Auth:           s.Auth,
		Numbers:        s.Registry,
		Overview:       s.DB,
		Admin:          s.DB,
		Health:         s.DB,
		Inbox:          s.DB,
		InboxAdmin:     s.DB,
		WakeIngest:     func() { s.Ingest.Notify(); s.Media.Notify() },
		Media:          mediaService{s.DB, s.MediaStorage},
		Accounts:       s.DB,
		WakeMedia:      s.Media.Notify,
		InFlight:       s.Pacer,
		Instance:       s.Ingest.Instance(),
		ObserveWebhook: s.Metrics.Webhook,
		Webhooks: handlers.WebhookConfig{
			AppSecret:    []byte(s.Config.AppSecret),
			VerifyToken:  s.Config.VerifyToken,
			PositusToken: s.Config.PositusWebhookToken,
			Budget:       s.WebhookBudget,
			MinRate:      s.WebhookMinRate,
			Grace:        s.WebhookGrace,
		},
		Events:        s.Events,
		Sync:          s.Sync,
		SyncProgress:  s.DB,
		Threads:       s.DB,
		Preferences:   s.DB,
		Conversations: s.DB,
		WebhookHealth: s.DB,
		Search:        search.New(s.DB.SQL(), s.DB.Dialect()),
		Asset:         s.Assets.Path,
		SecureCookies: s.Config.SecureCookies,
		Proxies:       s.Config.TrustedProxies,
		CSRFKey:       csrfKey(s.Config.SecretKey),
		SyncTimeout:   s.Config.SyncTimeout,
		Now:           s.Now,
	})
	e.HTTPErrorHandler = h.ErrorHandler
	// The client's address (rate limits, audit log) is the connection's peer, or what a
	// trusted proxy says it is.
	e.IPExtractor = s.Config.TrustedProxies.ClientIP

	e.Use(httpMetrics(s.Metrics))
	e.Use(middleware.RequestID())
	e.Use(requestLogger(s.Logger))
	e.Use(middleware.Recover())
	e.Use(securityHeaders(s.Config.TrustedProxies))
	e.Use(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{
		Limit: "1M",
		// Webhooks read their body under their own, larger limit.
		Skipper: func(c echo.Context) bool { return len(c.Path()) > 10 && c.Path()[:10] == "/webhooks/" },
	}))
	e.GET("/static/*", echo.WrapHandler(s.Assets))
	// /metrics on this listener only behind its bearer token, and only when no separate
	// metrics address is set (see MetricsHandler and docs/metrics.md).
	if s.Config.MetricsToken != "" && s.Config.MetricsAddr == "" {
		e.GET("/metrics", echo.WrapHandler(s.MetricsHandler()))
	}
	h.Register(e)
	return e
}

// MetricsHandler serves /metrics: behind COEX_METRICS_TOKEN as a bearer token when it is
// set (on COEX_METRICS_ADDR it may be unset, that listener being private).
func (s *Services) MetricsHandler() http.Handler { return s.Metrics.Handler(s.Config.MetricsToken) }

func requestLogger(logger *slog.Logger) echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogURIPath: true, LogMethod: true, LogLatency: true, LogRequestID: true, LogError: true,
		HandleError: true,
		Skipper: func(c echo.Context) bool {
			p := c.Request().URL.Path
			return p == "/healthz" || len(p) > 8 && p[:8] == "/static/"
		},
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			level := slog.LevelInfo
			if v.Status >= 500 {
				level = slog.LevelError
			}
			// The path only: query strings can carry search terms; never log bodies or headers.
			// A route with a secret in its path is logged by its pattern.
			path := v.URIPath
			if strings.Contains(c.Path(), ":secret") {
				path = c.Path()
			}
			logger.LogAttrs(c.Request().Context(), level, "request",
				slog.String("request_id", v.RequestID), slog.String("method", v.Method), slog.String("path", path),
				slog.Int("status", v.Status), slog.Duration("latency", v.Latency))
			return nil
		},
	})
}

// csrfKey derives the key that signs the sign-in form's CSRF token from the install's
// secret key (never the Meta app secret, which Meta knows too).
func csrfKey(secretKey []byte) []byte {
	m := hmac.New(sha256.New, secretKey)
	m.Write([]byte("coexhistory pre-session csrf key"))
	return m.Sum(nil)
}

// securityHeaders sets a strict CSP (only our own scripts and styles) and friends, and HSTS
// when the client came over HTTPS (directly, or as a trusted proxy says).
func securityHeaders(trusted *proxies.Trusted) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Referrer-Policy", "same-origin")
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
			h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
			if trusted.IsHTTPS(c.Request()) {
				h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
			}
			return next(c)
		}
	}
}
