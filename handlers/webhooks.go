package handlers

import (
	"bytes"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"coexhistory/internal/webhook"
)

// MaxWebhookBody is the largest webhook body accepted (Meta sends up to 3 MB).
const MaxWebhookBody = 5 << 20

// WebhookConfig holds the secrets of the webhook routes.
type WebhookConfig struct {
	AppSecret    []byte // verifies X-Hub-Signature-256
	VerifyToken  string // Meta's subscription handshake
	PositusToken string // per-install secret of forwarded Positus webhooks; empty disables the route
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

// receiveMeta stores a signed webhook from Meta; 200 only once it is durable.
func (h *Handlers) receiveMeta(c echo.Context) error {
	body, err := readWebhookBody(c)
	if err != nil {
		return err
	}
	if err := webhook.Verify(h.deps.Webhooks.AppSecret, body, c.Request().Header.Get("X-Hub-Signature-256")); err != nil {
		h.deps.Logger.Warn("webhook refused", "reason", err.Error(), "size", len(body))
		return c.JSON(http.StatusUnauthorized, map[string]string{"error": "invalid signature"})
	}
	return h.keepWebhook(c, "meta", body)
}

// receivePositus stores a webhook forwarded by Positus, authenticated by the per-install
// secret in the path or in the X-Coex-Webhook-Token header.
func (h *Handlers) receivePositus(c echo.Context) error {
	want := h.deps.Webhooks.PositusToken
	got := c.Param("secret")
	if got == "" {
		got = c.Request().Header.Get(positusTokenHeader)
	}
	if want == "" || !webhook.SecretEqual(want, got) {
		h.deps.Logger.Warn("positus webhook refused", "reason", "bad or missing secret")
		return c.JSON(http.StatusUnauthorized, map[string]string{"error": "invalid webhook secret"})
	}
	body, err := readWebhookBody(c)
	if err != nil {
		return err
	}
	return h.keepWebhook(c, "positus", body)
}

// keepWebhook stores an authenticated webhook. Ingest lets it go first meanwhile; only
// authenticated ones count, so a flood of forged requests cannot hold ingest back.
func (h *Handlers) keepWebhook(c echo.Context, source string, body []byte) error {
	defer h.deps.Receipts.Begin()()
	id, duplicate, err := h.deps.Inbox.InsertInbox(ctx(c), source, body)
	if err != nil {
		// Not stored: make Meta retry.
		h.deps.Logger.Error("webhook not stored", "source", source, "size", len(body), "err", err)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"error": "storage unavailable, retry later"})
	}
	if !duplicate && h.deps.WakeIngest != nil {
		h.deps.WakeIngest()
	}
	h.deps.Logger.Info("webhook stored", "source", source, "inbox_id", id, "size", len(body), "duplicate", duplicate)
	return c.JSON(http.StatusOK, map[string]any{"status": "ok"})
}

// readWebhookBody reads the raw body under MaxWebhookBody; larger bodies get 413 without
// being read to the end.
func readWebhookBody(c echo.Context) ([]byte, error) {
	r := c.Request()
	if r.ContentLength > MaxWebhookBody {
		return nil, c.JSON(http.StatusRequestEntityTooLarge, map[string]string{"error": "body too large"})
	}
	// Sized from Content-Length (already bounded above), so a 3 MB body is read into one
	// buffer instead of one regrown and copied a dozen times.
	size := int64(bytes.MinRead)
	if r.ContentLength > 0 {
		size += r.ContentLength
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	_, err := buf.ReadFrom(http.MaxBytesReader(c.Response(), r.Body, MaxWebhookBody))
	body := buf.Bytes()
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, c.JSON(http.StatusRequestEntityTooLarge, map[string]string{"error": "body too large"})
	}
	if err != nil {
		return nil, c.JSON(http.StatusBadRequest, map[string]string{"error": "could not read body"})
	}
	if len(body) == 0 {
		return nil, c.JSON(http.StatusBadRequest, map[string]string{"error": "empty body"})
	}
	return body, nil
}
