package store

import (
	"database/sql/driver"
	"strings"
	"unicode"
	"unicode/utf8"

	sqlite "github.com/glebarez/go-sqlite"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// foldFunction is the SQLite function that folds a contact name for the contact filter;
// MariaDB needs none, its utf8mb4_unicode_ci collation already ignores case and accents.
const foldFunction = "coex_fold"

func init() {
	sqlite.MustRegisterDeterministicScalarFunction(foldFunction, 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		switch v := args[0].(type) {
		case string:
			return FoldName(v), nil
		case []byte:
			return FoldName(string(v)), nil
		case nil:
			return nil, nil
		default:
			return v, nil
		}
	})
}

// FoldName lowers s and removes its diacritics ("Otávio" → "otavio"), as the contact filter
// compares names.
func FoldName(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	return strings.ToLower(out)
}
