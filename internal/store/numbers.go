package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"coexhistory/internal/coex"
	"coexhistory/models"
)

// numberColumns are the columns lists show; the sealed token is read only when needed.
var numberColumns = []string{"id", "label", "display_phone_number", "phone_number_id", "waba_id", "provider",
	"provider_number_id", "onboarded_at", "account_state", "created_at", "updated_at"}

// CreateNumber registers a business number; a taken phone_number_id is ErrDuplicate.
func (db *DB) CreateNumber(ctx context.Context, n *models.BusinessNumber) error {
	if n.AccountState == "" {
		n.AccountState = models.AccountActive
	}
	if err := db.q(ctx).Create(n).Error; err != nil {
		return fmt.Errorf("create number: %w", translate(err))
	}
	return nil
}

// UpdateNumber saves a number's editable fields. A nil AccessTokenEnc keeps the stored token.
func (db *DB) UpdateNumber(ctx context.Context, n *models.BusinessNumber) error {
	cols := []string{"label", "display_phone_number", "phone_number_id", "waba_id", "provider", "provider_number_id", "onboarded_at", "updated_at"}
	if n.AccessTokenEnc != nil {
		cols = append(cols, "access_token_enc")
	}
	res := db.q(ctx).Model(n).Select(cols).Updates(n)
	if res.Error != nil {
		return fmt.Errorf("update number: %w", translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteNumber removes a number from the registry (its messages stay).
func (db *DB) DeleteNumber(ctx context.Context, id uint64) error {
	res := db.q(ctx).Where("id = ?", id).Delete(&models.BusinessNumber{})
	if res.Error != nil {
		return translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// ListNumbers lists numbers by label, without their sealed tokens.
func (db *DB) ListNumbers(ctx context.Context) ([]models.BusinessNumber, error) {
	var ns []models.BusinessNumber
	err := db.q(ctx).Select(numberColumns).Order("label, id").Find(&ns).Error
	return ns, translate(err)
}

// NumberByID returns a number without its sealed token.
func (db *DB) NumberByID(ctx context.Context, id uint64) (models.BusinessNumber, error) {
	var n models.BusinessNumber
	err := db.q(ctx).Select(numberColumns).Where("id = ?", id).Take(&n).Error
	return n, translate(err)
}

// NumberByPhoneNumberID returns a number without its sealed token.
func (db *DB) NumberByPhoneNumberID(ctx context.Context, pnid string) (models.BusinessNumber, error) {
	var n models.BusinessNumber
	err := db.q(ctx).Select(numberColumns).Where("phone_number_id = ?", pnid).Take(&n).Error
	return n, translate(err)
}

// NumberWithToken returns a number with its sealed token, for calls to the provider.
func (db *DB) NumberWithToken(ctx context.Context, pnid string) (models.BusinessNumber, error) {
	var n models.BusinessNumber
	err := db.q(ctx).Where("phone_number_id = ?", pnid).Take(&n).Error
	return n, translate(err)
}

// AccountInput is an account_update change and the ids it came with.
type AccountInput struct {
	PhoneNumberID      string // value.metadata.phone_number_id, when sent
	DisplayPhoneNumber string // when sent
	WABAID             string // entry[].id
	Event              coex.AccountEvent
}

// AccountStateOf maps an account_update event to a number's account state ("" for events
// that do not change it).
func AccountStateOf(event string) string {
	switch strings.ToUpper(strings.TrimSpace(event)) {
	case coex.EventPartnerRemoved:
		return models.AccountRemoved
	case coex.EventAccountOffboarded:
		return models.AccountOffboarded
	case coex.EventAccountReconnected:
		return models.AccountReconnected
	}
	return ""
}

// ApplyAccountEvent sets the account state of the registered numbers the event is about:
// by phone_number_id when sent, else by display number, else every number of the WABA.
// It returns how many numbers matched; events without a state change match none.
func (db *DB) ApplyAccountEvent(ctx context.Context, in AccountInput) (int, error) {
	state := AccountStateOf(in.Event.Event)
	if state == "" {
		return 0, nil
	}
	q := db.q(ctx).Model(&models.BusinessNumber{})
	waba := in.Event.WABAID
	if waba == "" {
		waba = in.WABAID
	}
	switch {
	case in.PhoneNumberID != "":
		q = q.Where("phone_number_id = ?", in.PhoneNumberID)
	case coex.Digits(in.DisplayPhoneNumber) != "":
		q = q.Where("display_phone_number = ?", coex.Digits(in.DisplayPhoneNumber))
	case waba != "":
		q = q.Where("waba_id = ?", waba)
	default:
		return 0, errors.New("apply account event: no phone number or WABA id")
	}
	res := q.Updates(map[string]any{"account_state": state, "updated_at": db.now()})
	if res.Error != nil {
		return 0, fmt.Errorf("apply account event %s: %w", in.Event.Event, translate(res.Error))
	}
	return int(res.RowsAffected), nil
}
