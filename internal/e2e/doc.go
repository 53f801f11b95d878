// Package e2e holds end-to-end tests of coexhistory: the whole app on a fresh database of
// each dialect, the bundled Coex simulator as Meta's Graph API posting signed webhooks to
// it, the read API, and a real browser. It has no code of its own; see its _test.go files.
//
// Run it with a MariaDB and Chromium, as make test does:
//
//	COEX_TEST_MYSQL_URL=mysql://coex:coex@127.0.0.1:3307/ COEX_TEST_CHROMIUM=/usr/bin/chromium \
//	COEX_TEST_REQUIRE_MYSQL=1 go test -count=1 ./internal/e2e/
package e2e
