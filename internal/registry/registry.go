// Package registry manages the business numbers coexhistory syncs: validation, sealing of
// access tokens at rest, and the audit trail of every change.
package registry

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"coexhistory/internal/apperr"
	"coexhistory/internal/secrets"
	"coexhistory/internal/store"
	"coexhistory/models"
)

// Store is what the registry needs from the database.
type Store interface {
	CreateNumber(ctx context.Context, n *models.BusinessNumber) error
	UpdateNumber(ctx context.Context, n *models.BusinessNumber) error
	DeleteNumber(ctx context.Context, id uint64) error
	ListNumbers(ctx context.Context) ([]models.BusinessNumber, error)
	NumberByID(ctx context.Context, id uint64) (models.BusinessNumber, error)
	NumberWithToken(ctx context.Context, pnid string) (models.BusinessNumber, error)
	Audit(ctx context.Context, e models.AuditEntry) error
}

// Service is the number registry.
type Service struct {
	store   Store
	box     *secrets.Box
	onSaved func(ctx context.Context, phoneNumberID string)
}

// OnSaved sets fn to be called after a number is created or updated (the webhook inbox
// then applies what it kept for that number).
func (s *Service) OnSaved(fn func(ctx context.Context, phoneNumberID string)) { s.onSaved = fn }

func (s *Service) saved(ctx context.Context, pnid string) {
	if s.onSaved != nil {
		s.onSaved(ctx, pnid)
	}
}

// New returns the registry.
func New(s Store, box *secrets.Box) *Service { return &Service{store: s, box: box} }

// Input is a number as staff type it in. An empty AccessToken on update keeps the stored one.
type Input struct {
	Label              string `json:"label" form:"label"`
	DisplayPhoneNumber string `json:"display_phone_number" form:"display_phone_number"`
	PhoneNumberID      string `json:"phone_number_id" form:"phone_number_id"`
	WABAID             string `json:"waba_id" form:"waba_id"`
	Provider           string `json:"provider" form:"provider"`
	ProviderNumberID   string `json:"provider_number_id" form:"provider_number_id"`
	AccessToken        string `json:"access_token" form:"access_token"`
	OnboardedAt        string `json:"onboarded_at" form:"onboarded_at"` // RFC 3339 or "2006-01-02T15:04" (UTC)
}

// Actor is who makes a change, for the audit log.
type Actor struct{ Name, RemoteIP string }

var (
	digitsOnly = regexp.MustCompile(`^[0-9]{5,20}$`)
	uuidLike   = regexp.MustCompile(`^[0-9A-Za-z-]{8,64}$`)
)

// validate normalises in and returns the per-field problems.
func (in *Input) validate(creating bool) map[string]string {
	in.Label = strings.TrimSpace(in.Label)
	in.DisplayPhoneNumber = strings.NewReplacer("+", "", " ", "", "-", "", "(", "", ")", "").Replace(strings.TrimSpace(in.DisplayPhoneNumber))
	in.PhoneNumberID = strings.TrimSpace(in.PhoneNumberID)
	in.WABAID = strings.TrimSpace(in.WABAID)
	in.Provider = strings.TrimSpace(strings.ToLower(in.Provider))
	in.ProviderNumberID = strings.TrimSpace(in.ProviderNumberID)
	in.AccessToken = strings.TrimSpace(in.AccessToken)
	f := map[string]string{}
	if in.Label == "" || len(in.Label) > 120 {
		f["label"] = "Give the number a label (up to 120 characters)."
	}
	if !digitsOnly.MatchString(in.DisplayPhoneNumber) {
		f["display_phone_number"] = "Enter the number with country code, digits only (e.g. 5511987650000)."
	}
	if !digitsOnly.MatchString(in.PhoneNumberID) {
		f["phone_number_id"] = "Enter Meta's phone number ID (digits)."
	}
	if !digitsOnly.MatchString(in.WABAID) {
		f["waba_id"] = "Enter the WhatsApp Business Account ID (digits)."
	}
	switch in.Provider {
	case models.ProviderMeta:
		in.ProviderNumberID = ""
	case models.ProviderPositus:
		if !uuidLike.MatchString(in.ProviderNumberID) {
			f["provider_number_id"] = "Positus needs its own number ID (a UUID from the Positus dashboard)."
		}
	default:
		f["provider"] = "Choose Meta or Positus."
	}
	if creating && in.AccessToken == "" {
		f["access_token"] = "Paste the access token for this number."
	}
	if len(in.AccessToken) > 2048 {
		f["access_token"] = "This token is too long."
	}
	if strings.TrimSpace(in.OnboardedAt) != "" {
		if _, err := parseTime(in.OnboardedAt); err != nil {
			f["onboarded_at"] = "Enter a date and time, e.g. 2026-11-23T14:30 (UTC)."
		}
	}
	return f
}

func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("bad time")
}

func (in Input) apply(n *models.BusinessNumber) {
	n.Label = in.Label
	n.DisplayPhoneNumber = in.DisplayPhoneNumber
	n.PhoneNumberID = in.PhoneNumberID
	n.WABAID = in.WABAID
	n.Provider = in.Provider
	n.ProviderNumberID = in.ProviderNumberID
	n.OnboardedAt = nil
	if t, err := parseTime(in.OnboardedAt); err == nil {
		n.OnboardedAt = &t
	}
}

// List returns every number (without tokens).
func (s *Service) List(ctx context.Context) ([]models.BusinessNumber, error) {
	ns, err := s.store.ListNumbers(ctx)
	if err != nil {
		return nil, fmt.Errorf("list numbers: %w", err)
	}
	return ns, nil
}

// Get returns one number (without its token).
func (s *Service) Get(ctx context.Context, id uint64) (models.BusinessNumber, error) {
	n, err := s.store.NumberByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return n, apperr.New(apperr.NotFound, "This number does not exist (any more).")
	}
	return n, err
}

// Create registers a number.
func (s *Service) Create(ctx context.Context, a Actor, in Input) (models.BusinessNumber, error) {
	if f := in.validate(true); len(f) > 0 {
		return models.BusinessNumber{}, apperr.InvalidFields(f)
	}
	var n models.BusinessNumber
	in.apply(&n)
	n.AccessTokenEnc = s.box.Seal([]byte(in.AccessToken), []byte(n.PhoneNumberID))
	if err := s.store.CreateNumber(ctx, &n); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return n, apperr.InvalidFields(map[string]string{"phone_number_id": "This phone number ID is already registered."})
		}
		return n, err
	}
	s.audit(ctx, a, "number.create", n, "")
	s.saved(ctx, n.PhoneNumberID)
	n.AccessTokenEnc = nil
	return n, nil
}

// Update changes a number. An empty access token keeps the stored one; a changed
// phone_number_id re-seals the token under the new id.
func (s *Service) Update(ctx context.Context, a Actor, id uint64, in Input) (models.BusinessNumber, error) {
	if f := in.validate(false); len(f) > 0 {
		return models.BusinessNumber{}, apperr.InvalidFields(f)
	}
	old, err := s.Get(ctx, id)
	if err != nil {
		return old, err
	}
	n := old
	in.apply(&n)
	token := in.AccessToken
	if token == "" && n.PhoneNumberID != old.PhoneNumberID {
		if token, err = s.AccessToken(ctx, old.PhoneNumberID); err != nil {
			return n, err
		}
	}
	if token != "" {
		n.AccessTokenEnc = s.box.Seal([]byte(token), []byte(n.PhoneNumberID))
	}
	if err := s.store.UpdateNumber(ctx, &n); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return n, apperr.InvalidFields(map[string]string{"phone_number_id": "This phone number ID is already registered."})
		}
		return n, err
	}
	detail := ""
	if in.AccessToken != "" {
		detail = "access token replaced"
	}
	s.audit(ctx, a, "number.update", n, detail)
	s.saved(ctx, n.PhoneNumberID)
	n.AccessTokenEnc = nil
	return n, nil
}

// Delete removes a number from the registry; its stored history stays.
func (s *Service) Delete(ctx context.Context, a Actor, id uint64) error {
	n, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if err := s.store.DeleteNumber(ctx, id); err != nil {
		return fmt.Errorf("delete number: %w", err)
	}
	s.audit(ctx, a, "number.delete", n, "")
	return nil
}

// AccessToken opens the sealed token of a number, for calls to its provider.
func (s *Service) AccessToken(ctx context.Context, pnid string) (string, error) {
	n, err := s.store.NumberWithToken(ctx, pnid)
	if err != nil {
		return "", fmt.Errorf("read number %s: %w", pnid, err)
	}
	plain, err := s.box.Open(n.AccessTokenEnc, []byte(n.PhoneNumberID))
	if err != nil {
		return "", apperr.Wrap(apperr.Internal, "The stored access token cannot be read: check COEX_SECRET_KEY or enter the token again.", err)
	}
	return string(plain), nil
}

func (s *Service) audit(ctx context.Context, a Actor, action string, n models.BusinessNumber, detail string) {
	d := fmt.Sprintf("label=%q provider=%s", n.Label, n.Provider)
	if detail != "" {
		d += " " + detail
	}
	_ = s.store.Audit(ctx, models.AuditEntry{Actor: a.Name, Action: action, Target: n.PhoneNumberID, Detail: d, RemoteIP: a.RemoteIP})
}
