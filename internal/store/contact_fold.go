package store

import (
	"database/sql/driver"

	sqlite "github.com/glebarez/go-sqlite"

	"coexhistory/internal/search"
)

// The SQLite function the contact filter folds names with (search.FoldFunction); MariaDB
// needs none, its utf8mb4_unicode_ci collation already ignores case and accents.
func init() {
	sqlite.MustRegisterDeterministicScalarFunction(search.FoldFunction, 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		switch v := args[0].(type) {
		case string:
			return search.FoldName(v), nil
		case []byte:
			return search.FoldName(string(v)), nil
		case nil:
			return nil, nil
		default:
			return v, nil
		}
	})
}
