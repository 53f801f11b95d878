// Package migrations holds the versioned SQL schema of coexhistory, one directory per
// database dialect. Both directories carry the same version numbers.
package migrations

import "embed"

// FS holds mysql/*.sql and sqlite/*.sql.
//
//go:embed mysql/*.sql sqlite/*.sql
var FS embed.FS
