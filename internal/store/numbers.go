package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

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
	InboxID            uint64 // the webhook it came in
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
	case coex.EventPartnerAppUninstalled:
		return models.AccountUninstalled
	case coex.EventPartnerAdded:
		return models.AccountActive
	}
	return ""
}

// ApplyAccountEvent keeps an account_update event for each registered number it is about
// and sets their account state when the event changes it. The numbers are the one named
// by metadata.phone_number_id, else by value.phone_number, else by metadata's display
// number; an event naming none applies to every number of its WABA (waba_info.waba_id,
// else entry[].id). Each number's event is audited (actor "webhook"); an event that
// matched no registered number is kept without one. It returns how many numbers matched.
func (db *DB) ApplyAccountEvent(ctx context.Context, in AccountInput) (int, error) {
	waba := in.Event.WABAID
	if waba == "" {
		waba = in.WABAID
	}
	pick := func(q *gorm.DB) (*gorm.DB, error) {
		switch {
		case in.PhoneNumberID != "":
			return q.Where("phone_number_id = ?", in.PhoneNumberID), nil
		case in.Event.PhoneNumber != "":
			return q.Where("display_phone_number = ?", in.Event.PhoneNumber), nil
		case coex.Digits(in.DisplayPhoneNumber) != "":
			return q.Where("display_phone_number = ?", coex.Digits(in.DisplayPhoneNumber)), nil
		case waba != "":
			return q.Where("waba_id = ?", waba), nil
		}
		return nil, errors.New("apply account event: no phone number or WABA id")
	}
	state := AccountStateOf(in.Event.Event)
	matched := 0
	err := db.Tx(ctx, func(tx *DB) error {
		matched = 0
		q, err := pick(tx.q(ctx).Model(&models.BusinessNumber{}).Select("phone_number_id", "waba_id", "account_state"))
		if err != nil {
			return err
		}
		if tx.dialect == MySQL {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		var ns []models.BusinessNumber
		if err := q.Order("id").Find(&ns).Error; err != nil {
			return translate(err)
		}
		now := tx.now()
		ev := in.Event
		base := models.AccountEvent{WABAID: waba, NamedNumber: ev.PhoneNumber, Event: clip(ev.Event, 64),
			Reason: clip(ev.Reason, 128), InitiatedBy: clip(ev.InitiatedBy, 32), Detail: clip(ev.Detail, 512),
			InboxID: in.InboxID, At: now}
		if len(ns) == 0 {
			row := base
			return translate(tx.q(ctx).Create(&row).Error)
		}
		for _, n := range ns {
			row := base
			row.PhoneNumberID, row.WABAID, row.StateBefore, row.StateAfter = n.PhoneNumberID, n.WABAID, n.AccountState, n.AccountState
			if state != "" && state != n.AccountState {
				row.StateAfter = state
				if err := tx.q(ctx).Model(&models.BusinessNumber{}).Where("phone_number_id = ?", n.PhoneNumberID).
					Updates(map[string]any{"account_state": state, "updated_at": now}).Error; err != nil {
					return translate(err)
				}
			}
			if err := tx.q(ctx).Create(&row).Error; err != nil {
				return translate(err)
			}
			if err := tx.Audit(ctx, models.AuditEntry{Actor: "webhook", Action: "account.event", Target: n.PhoneNumberID,
				Detail: accountEventDetail(row)}); err != nil {
				return err
			}
			matched++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("apply account event %s: %w", in.Event.Event, err)
	}
	return matched, nil
}

// accountEventDetail is the audit log's line for an account event.
func accountEventDetail(e models.AccountEvent) string {
	parts := []string{e.Event}
	if e.Reason != "" {
		parts = append(parts, "reason="+e.Reason)
	}
	if e.InitiatedBy != "" {
		parts = append(parts, "initiated_by="+e.InitiatedBy)
	}
	if e.Detail != "" {
		parts = append(parts, e.Detail)
	}
	if e.StateAfter != e.StateBefore {
		parts = append(parts, e.StateBefore+" → "+e.StateAfter)
	}
	return strings.Join(parts, " ")
}

// AccountEvents lists a number's account events, newest first.
func (db *DB) AccountEvents(ctx context.Context, pnid string, limit int) ([]models.AccountEvent, error) {
	if limit <= 0 {
		limit = 50
	}
	var out []models.AccountEvent
	err := db.q(ctx).Where("phone_number_id = ?", pnid).Order("id DESC").Limit(limit).Find(&out).Error
	return out, translate(err)
}
