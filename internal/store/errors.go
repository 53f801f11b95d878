package store

import (
	"errors"
	"strings"

	gomysql "github.com/go-sql-driver/mysql"
	"gorm.io/gorm"
)

// Errors the store translates driver errors into; callers test them with errors.Is.
var (
	ErrNotFound  = errors.New("not found")
	ErrDuplicate = errors.New("already exists")
)

// translate maps driver-specific errors onto the store's sentinel errors.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ErrNotFound
	}
	if isDuplicate(err) {
		return errors.Join(ErrDuplicate, err)
	}
	return err
}

func isDuplicate(err error) bool {
	var me *gomysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1062
	}
	// The pure-Go SQLite driver reports constraint violations as text.
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}
