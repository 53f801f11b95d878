package handlers

import (
	"bytes"
	"errors"
	"hash"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"coexhistory/internal/webhook"
)

// MaxWebhookBody is the largest webhook body accepted (Meta sends up to 3 MB).
const MaxWebhookBody = 5 << 20

// Defaults of how webhook bodies are read (WebhookConfig fields left zero).
const (
	// DefaultWebhookMemory bounds the bytes of all webhook bodies being read at once;
	// past it a webhook is answered 503 at once, and Meta delivers it again later.
	DefaultWebhookMemory = 32 << 20
	// DefaultWebhookMinRate is the average rate a body must keep once
	// DefaultWebhookGrace has passed: a 3 MB body has 5 + 47 s to arrive.
	DefaultWebhookMinRate = 64 << 10
	DefaultWebhookGrace   = 5 * time.Second
)

// WebhookConfig holds the secrets of the webhook routes and how their bodies are read.
type WebhookConfig struct {
	AppSecret    []byte // verifies X-Hub-Signature-256
	VerifyToken  string // Meta's subscription handshake
	PositusToken string // per-install secret of forwarded Positus webhooks; empty disables the route

	Budget  *webhook.Budget // bytes of bodies being read at once; default DefaultWebhookMemory
	MinRate int64           // bytes/s a body must average after Grace; default DefaultWebhookMinRate
	Grace   time.Duration   // default DefaultWebhookGrace
}

func (c *WebhookConfig) setDefaults() {
	if c.Budget == nil {
		c.Budget = webhook.NewBudget(DefaultWebhookMemory)
	}
	if c.MinRate <= 0 {
		c.MinRate = DefaultWebhookMinRate
	}
	if c.Grace <= 0 {
		c.Grace = DefaultWebhookGrace
	}
}

// positusTokenHeader carries the Positus secret when it is not in the path.
const positusTokenHeader = "X-Coex-Webhook-Token"

// verifyWebhook answers Meta's subscription handshake.
func (h *Handlers) verifyWebhook(c echo.Context) error {
	cfg := h.deps.Webhooks
	if c.QueryParam("hub.mode") != "subscribe" || !webhook.SecretEqual(cfg.VerifyToken, c.QueryParam("hub.verify_token")) {
		h.deps.Logger.Warn("webhook verification refused", "mode", c.QueryParam("hub.mode"))
		return c.String(http.StatusForbidden, "verification failed")
	}
	return c.String(http.StatusOK, c.QueryParam("hub.challenge"))
}

// receiveMeta stores a signed webhook from Meta; 200 only once it is durable. The
// signature header is checked before any of the body is read, and the body's HMAC is
// computed while it arrives.
func (h *Handlers) receiveMeta(c echo.Context) error {
	start := time.Now()
	v, err := webhook.NewVerifier(h.deps.Webhooks.AppSecret, c.Request().Header.Get(webhook.SignatureHeader))
	if err != nil {
		return h.refuseWebhook(c, "meta", start, outcomeBadSignature, 0, err)
	}
	body, release, err := h.readWebhookBody(c, v.Hash())
	defer release()
	if err != nil {
		return h.bodyError(c, "meta", start, err)
	}
	if err := v.Check(); err != nil {
		return h.refuseWebhook(c, "meta", start, outcomeBadSignature, len(body), err)
	}
	return h.keepWebhook(c, "meta", body, start)
}

// receivePositus stores a webhook forwarded by Positus, authenticated by the per-install
// secret in the path or in the X-Coex-Webhook-Token header, checked before the body is read.
func (h *Handlers) receivePositus(c echo.Context) error {
	start := time.Now()
	want := h.deps.Webhooks.PositusToken
	got := c.Param("secret")
	if got == "" {
		got = c.Request().Header.Get(positusTokenHeader)
	}
	if want == "" || !webhook.SecretEqual(want, got) {
		return h.refuseWebhook(c, "positus", start, outcomeBadSecret, 0, errors.New("bad or missing secret"))
	}
	body, release, err := h.readWebhookBody(c, nil)
	defer release()
	if err != nil {
		return h.bodyError(c, "positus", start, err)
	}
	return h.keepWebhook(c, "positus", body, start)
}

// Outcomes of a webhook delivery, as logged and counted.
const (
	outcomeStored       = "stored"
	outcomeDuplicate    = "duplicate"
	outcomeBadSignature = "bad_signature"
	outcomeBadSecret    = "bad_secret"
	outcomeTooLarge     = "too_large"
	outcomeTooSlow      = "too_slow"
	outcomeBusy         = "busy"
	outcomeBadBody      = "bad_body"
	outcomeNotStored    = "not_stored"
)

// observeWebhook reports one delivery to the metrics (when wired).
func (h *Handlers) observeWebhook(source, field, outcome string, size int, start time.Time) {
	if h.deps.ObserveWebhook != nil {
		h.deps.ObserveWebhook(source, field, outcome, size, time.Since(start))
	}
}

func (h *Handlers) refuseWebhook(c echo.Context, source string, start time.Time, outcome string, size int, err error) error {
	h.deps.Logger.Warn("webhook refused", "source", source, "reason", err.Error(), "size", size)
	h.observeWebhook(source, "", outcome, size, start)
	closeAfter(c)
	if outcome == outcomeBadSecret {
		return c.JSON(http.StatusUnauthorized, map[string]string{"error": "invalid webhook secret"})
	}
	return c.JSON(http.StatusUnauthorized, map[string]string{"error": "invalid signature"})
}

// bodyError answers a body that could not be read whole.
func (h *Handlers) bodyError(c echo.Context, source string, start time.Time, err error) error {
	closeAfter(c)
	switch {
	case errors.Is(err, webhook.ErrBusy):
		h.observeWebhook(source, "", outcomeBusy, 0, start)
		c.Response().Header().Set("Retry-After", "1")
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"error": "busy, retry later"})
	case errors.Is(err, webhook.ErrTooLarge):
		h.observeWebhook(source, "", outcomeTooLarge, 0, start)
		return c.JSON(http.StatusRequestEntityTooLarge, map[string]string{"error": "body too large"})
	case errors.Is(err, webhook.ErrTooSlow):
		h.deps.Logger.Warn("webhook body too slow", "source", source)
		h.observeWebhook(source, "", outcomeTooSlow, 0, start)
		return c.JSON(http.StatusRequestTimeout, map[string]string{"error": "body too slow"})
	case errors.Is(err, webhook.ErrEmpty):
		h.observeWebhook(source, "", outcomeBadBody, 0, start)
		return c.JSON(http.StatusBadRequest, map[string]string{"error": "empty body"})
	}
	h.observeWebhook(source, "", outcomeBadBody, 0, start)
	return c.JSON(http.StatusBadRequest, map[string]string{"error": "could not read body"})
}

// closeAfter closes the connection after the answer: a refused request's body is not read
// any further.
func closeAfter(c echo.Context) { c.Response().Header().Set("Connection", "close") }

// keepWebhook stores an authenticated webhook. Ingest lets it go first meanwhile; only
// authenticated ones count, so a flood of forged requests cannot hold ingest back.
func (h *Handlers) keepWebhook(c echo.Context, source string, body []byte, start time.Time) error {
	if h.deps.InFlight != nil {
		defer h.deps.InFlight.Begin()()
	}
	id, duplicate, err := h.deps.Inbox.InsertInbox(ctx(c), source, body)
	field := webhookField(body)
	if err != nil {
		// Not stored: make Meta retry.
		h.deps.Logger.Error("webhook not stored", "source", source, "size", len(body), "err", err)
		h.observeWebhook(source, field, outcomeNotStored, len(body), start)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"error": "storage unavailable, retry later"})
	}
	if !duplicate && h.deps.WakeIngest != nil {
		h.deps.WakeIngest()
	}
	outcome := outcomeStored
	if duplicate {
		outcome = outcomeDuplicate
	}
	h.observeWebhook(source, field, outcome, len(body), start)
	h.deps.Logger.Info("webhook stored", "source", source, "inbox_id", id, "size", len(body), "duplicate", duplicate)
	return c.JSON(http.StatusOK, map[string]any{"status": "ok"})
}

// readWebhookBody reads the raw body under MaxWebhookBody and the receiver's byte budget,
// into a buffer that grows as bytes arrive, cutting off a body that comes too slowly.
// release must be called once the body is no longer used.
func (h *Handlers) readWebhookBody(c echo.Context, sink hash.Hash) ([]byte, func(), error) {
	cfg := h.deps.Webhooks
	r := c.Request()
	rc := http.NewResponseController(c.Response())
	lim := webhook.Limits{Max: MaxWebhookBody, MinRate: cfg.MinRate, Grace: cfg.Grace}
	return webhook.ReadBody(r.Body, r.ContentLength, cfg.Budget, lim, rc.SetReadDeadline, sink)
}

// knownFields are the webhook fields counted by name; any other is counted as "other".
var knownFields = []string{"history", "smb_app_state_sync", "smb_message_echoes", "messages", "account_update"}

// webhookField names the field of a body for the metrics without parsing it: Meta puts
// "field" after "value" in each change, so the last one is looked for.
func webhookField(body []byte) string {
	i := bytes.LastIndex(body, []byte(`"field"`))
	if i < 0 {
		return "unknown"
	}
	rest := bytes.TrimLeft(body[i+len(`"field"`):], " \t\r\n:")
	for _, f := range knownFields {
		if bytes.HasPrefix(rest, []byte(`"`+f+`"`)) {
			return f
		}
	}
	return "other"
}
