#!/usr/bin/env bash
# The whole test suite, as CI runs it: templ drift, gofmt, go mod tidy, go vet, go test against a private
# MariaDB and the system Chromium, then a one-iteration benchmark smoke run.
#
# On Debian (as root, or with sudo) it installs mariadb-server and chromium when they are
# missing. Elsewhere, point it at what you have:
#   COEX_TEST_MYSQL_URL=mysql://user:pass@127.0.0.1:3306/   an existing MySQL/MariaDB server
#                                                           (the user must be able to create
#                                                           and drop databases)
#   COEX_TEST_CHROMIUM=/path/to/chromium                    the browser for browser tests
#   COEX_TEST_ALLOW_NO_MYSQL=1                              run without MySQL (MySQL-only
#                                                           and browser tests are skipped)
# Other knobs: TEST_ARGS (extra `go test` flags, e.g. "-run Search -v"), TEST_PKGS (default
# ./...; the whole suite also runs scripts/galera-test.sh unless COEX_TEST_SKIP_GALERA=1), COEX_TEST_ARTIFACTS (screenshots of failed browser tests), COEX_TEST_KEEP_DB=1
# (leave the private server's directory for inspection).
set -euo pipefail

cd "$(dirname "$0")/.."

# mariadbd lives in /usr/sbin on Debian, which is not on every user's PATH.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
warn() { printf '\033[33m!!! %s\033[0m\n' "$*" >&2; }
die() {
	printf '\033[31mxxx %s\033[0m\n' "$*" >&2
	exit 1
}

now_ms() {
	if [[ -n "${EPOCHREALTIME:-}" ]]; then
		local t=${EPOCHREALTIME/[.,]/}
		echo $((t / 1000))
	else
		echo $((SECONDS * 1000))
	fi
}
elapsed() { # start_ms → "1.23 s"
	local ms=$(($(now_ms) - $1))
	printf '%d.%02d s' $((ms / 1000)) $((ms % 1000 / 10))
}

SCRIPT_START=$(now_ms)
TIMINGS=()

# step NAME COMMAND...: runs the command with errexit on, prints its time, stops the script
# when it fails.
step() {
	local name=$1
	shift
	log "$name"
	local start rc
	start=$(now_ms)
	set +e
	(
		set -e
		"$@"
	)
	rc=$?
	set -e
	TIMINGS+=("$(printf '%-28s %s' "$name" "$(elapsed "$start")")")
	if ((rc != 0)); then
		die "$name failed after $(elapsed "$start")"
	fi
	log "$name: ok ($(elapsed "$start"))"
}

print_timings() {
	((${#TIMINGS[@]} > 0)) || return 0
	printf '\n%s\n' "Time per step:" >&2
	printf '  %s\n' "${TIMINGS[@]}" >&2
	printf '  %-28s %s\n' "total" "$(elapsed "$SCRIPT_START")" >&2
}

# ---- Installing what is missing ---------------------------------------------------------

# as_root runs a command as root: directly, or through sudo when that works.
as_root() {
	if [[ $(id -u) -eq 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1 && { sudo -n true 2>/dev/null || [[ -t 0 ]]; }; then
		sudo "$@"
	else
		return 1
	fi
}

can_apt() {
	command -v apt-get >/dev/null 2>&1 || return 1
	[[ $(id -u) -eq 0 ]] && return 0
	command -v sudo >/dev/null 2>&1 && { sudo -n true 2>/dev/null || [[ -t 0 ]]; }
}

APT_UPDATED=0
apt_install() {
	can_apt || return 1
	log "Installing $* with apt-get"
	if ((APT_UPDATED == 0)); then
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || return 1
		APT_UPDATED=1
	fi
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

first_command() { # prints the first of the names that is a command
	local c
	for c in "$@"; do
		if command -v "$c" >/dev/null 2>&1; then
			command -v "$c"
			return 0
		fi
	done
	return 1
}

find_mariadb() {
	MYSQLD=$(first_command mariadbd mysqld) &&
		INSTALL_DB=$(first_command mariadb-install-db mysql_install_db) &&
		CLIENT=$(first_command mariadb mysql)
}

find_chromium() {
	first_command chromium chromium-browser google-chrome-stable google-chrome ||
		{ [[ -x "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome" ]] &&
			echo "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"; }
}

# ---- A private MariaDB ----------------------------------------------------------------------

DB_DIR=""
DB_PID=""

stop_mariadb() {
	if [[ -n "$DB_PID" ]] && kill -0 "$DB_PID" 2>/dev/null; then
		kill "$DB_PID" 2>/dev/null || true
		local i
		for ((i = 0; i < 100; i++)); do
			kill -0 "$DB_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$DB_PID" 2>/dev/null || true
		wait "$DB_PID" 2>/dev/null || true
	fi
	DB_PID=""
	if [[ -n "$DB_DIR" && -d "$DB_DIR" ]]; then
		if [[ "${COEX_TEST_KEEP_DB:-}" == 1 ]]; then
			warn "kept the test database directory $DB_DIR"
		else
			rm -rf "$DB_DIR"
		fi
	fi
	DB_DIR=""
}

cleanup() {
	local rc=$?
	stop_mariadb
	print_timings
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_in_use() { (: </dev/tcp/127.0.0.1/"$1") 2>/dev/null; }

random_port() { echo $((20000 + (RANDOM * 32768 + RANDOM) % 40000)); }

# start_mariadb installs a throwaway data directory and starts mariadbd on a free port;
# sets MYSQL_PORT. The server is stopped and the directory removed when the script exits.
start_mariadb() {
	local as_user=()
	[[ $(id -u) -eq 0 ]] && as_user=(--user=root)

	# Short path: the socket path must stay under ~100 characters.
	DB_DIR=$(mktemp -d /tmp/coex-test-db.XXXXXX)
	if ! "$INSTALL_DB" --no-defaults --datadir="$DB_DIR/data" \
		--auth-root-authentication-method=normal --skip-test-db ${as_user[@]+"${as_user[@]}"} \
		>"$DB_DIR/install.log" 2>&1; then
		cat "$DB_DIR/install.log" >&2
		die "mariadb-install-db failed"
	fi

	local attempt
	for attempt in 1 2 3 4 5; do
		MYSQL_PORT=$(random_port)
		port_in_use "$MYSQL_PORT" && continue
		"$MYSQLD" --no-defaults --datadir="$DB_DIR/data" --socket="$DB_DIR/mysqld.sock" \
			--port="$MYSQL_PORT" --bind-address=127.0.0.1 ${as_user[@]+"${as_user[@]}"} --skip-log-bin \
			--innodb-buffer-pool-size=256M \
			--innodb-ft-min-token-size=2 --ft-min-word-len=2 \
			--character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
			--pid-file="$DB_DIR/mysqld.pid" >"$DB_DIR/server.log" 2>&1 &
		DB_PID=$!
		# Wait until it answers (bounded), or until it dies (e.g. the port was taken).
		local i
		for ((i = 0; i < 300; i++)); do
			if "$CLIENT" --no-defaults -uroot --socket="$DB_DIR/mysqld.sock" -e "SELECT 1" >/dev/null 2>&1; then
				return 0
			fi
			kill -0 "$DB_PID" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$DB_PID" 2>/dev/null; then
			tail -n 30 "$DB_DIR/server.log" >&2
			die "MariaDB did not answer within 30 s (log above)"
		fi
		wait "$DB_PID" 2>/dev/null || true
		DB_PID=""
		if grep -q "Address already in use\|Can't start server: Bind" "$DB_DIR/server.log"; then
			warn "port $MYSQL_PORT was taken, trying another (attempt $attempt)"
			continue
		fi
		tail -n 30 "$DB_DIR/server.log" >&2
		die "MariaDB did not start (log above)"
	done
	die "no free port found for MariaDB"
}

setup_mysql() {
	if [[ -n "${COEX_TEST_MYSQL_URL:-}" ]]; then
		log "Using the MySQL server in COEX_TEST_MYSQL_URL"
		export COEX_TEST_REQUIRE_MYSQL=1
		return 0
	fi
	if ! find_mariadb; then
		apt_install mariadb-server || true
	fi
	if find_mariadb; then
		local start
		start=$(now_ms)
		start_mariadb
		"$CLIENT" --no-defaults -uroot --socket="$DB_DIR/mysqld.sock" -e \
			"CREATE USER 'coex'@'127.0.0.1' IDENTIFIED BY 'coex'; GRANT ALL PRIVILEGES ON *.* TO 'coex'@'127.0.0.1' WITH GRANT OPTION; FLUSH PRIVILEGES;"
		export COEX_TEST_MYSQL_URL="mysql://coex:coex@127.0.0.1:$MYSQL_PORT/"
		export COEX_TEST_REQUIRE_MYSQL=1
		TIMINGS+=("$(printf '%-28s %s' "start MariaDB" "$(elapsed "$start")")")
		log "MariaDB $("$MYSQLD" --version | sed -E 's/.*Ver ([^ ]+).*/\1/') on 127.0.0.1:$MYSQL_PORT (data in $DB_DIR), ready in $(elapsed "$start")"
		return 0
	fi

	cat >&2 <<-'EOF'

		MariaDB is not installed and could not be installed here (apt-get needs root or sudo).
		Point the tests at an existing MySQL 8 / MariaDB 10.6+ server instead, with a user that may
		create and drop databases, for example:

		    COEX_TEST_MYSQL_URL=mysql://coex:coex@127.0.0.1:3306/ make test

		(create it with: CREATE USER 'coex'@'127.0.0.1' IDENTIFIED BY 'coex';
		                 GRANT ALL PRIVILEGES ON *.* TO 'coex'@'127.0.0.1';)
		Or run without MySQL, skipping the MySQL-only tests, with COEX_TEST_ALLOW_NO_MYSQL=1.

	EOF
	if [[ "${COEX_TEST_ALLOW_NO_MYSQL:-}" == 1 ]]; then
		warn "COEX_TEST_ALLOW_NO_MYSQL=1: running without MySQL; MySQL tests will be skipped"
		unset COEX_TEST_REQUIRE_MYSQL
		return 0
	fi
	die "no MySQL/MariaDB for the tests"
}

setup_chromium() {
	if [[ -n "${COEX_TEST_CHROMIUM:-}" ]]; then
		[[ -x "$COEX_TEST_CHROMIUM" ]] || command -v "$COEX_TEST_CHROMIUM" >/dev/null 2>&1 ||
			die "COEX_TEST_CHROMIUM=$COEX_TEST_CHROMIUM is not an executable"
		return 0
	fi
	local path
	if ! path=$(find_chromium); then
		apt_install chromium || true
		path=$(find_chromium) || path=""
	fi
	if [[ -n "$path" ]]; then
		export COEX_TEST_CHROMIUM="$path"
		log "Browser tests use $path"
		return 0
	fi
	if [[ "${COEX_TEST_REQUIRE_MYSQL:-}" == 1 ]]; then
		die "Chromium is not installed and could not be installed; install it (apt-get install chromium)
    or set COEX_TEST_CHROMIUM=/path/to/chromium or google-chrome"
	fi
	warn "no Chromium: browser tests will be skipped (set COEX_TEST_CHROMIUM=/path/to/chromium)"
}

# ---- Checks ---------------------------------------------------------------------------------

# templ_drift fails when `templ generate` changes any committed *_templ.go file or creates
# one that is not committed.
templ_drift() {
	if command -v git >/dev/null 2>&1 && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		go tool templ generate -log-level error
		if ! git diff --exit-code --stat -- '*_templ.go'; then
			echo "The generated *_templ.go files above differ from what 'go tool templ generate' makes." >&2
			echo "Run 'make generate' and commit the result." >&2
			return 1
		fi
		local untracked
		untracked=$(git ls-files --others --exclude-standard -- '*_templ.go')
		if [[ -n "$untracked" ]]; then
			printf 'Generated files not committed:\n%s\nRun "git add" on them.\n' "$untracked" >&2
			return 1
		fi
		return 0
	fi
	# Not a git checkout: regenerate in a copy and compare.
	local tmp differ=0 f
	tmp=$(mktemp -d)
	cp -R . "$tmp/src"
	if ! (cd "$tmp/src" && go tool templ generate -log-level error); then
		rm -rf "$tmp"
		return 1
	fi
	while IFS= read -r -d '' f; do
		if ! cmp -s "$f" "$tmp/src/$f"; then
			echo "differs: $f" >&2
			differ=1
		fi
	done < <(find . -name '*_templ.go' -not -path './.git/*' -print0)
	while IFS= read -r -d '' f; do
		if [[ ! -e "$f" ]]; then
			echo "missing: $f" >&2
			differ=1
		fi
	done < <(cd "$tmp/src" && find . -name '*_templ.go' -print0)
	rm -rf "$tmp"
	if ((differ)); then
		echo "Run 'make generate'." >&2
		return 1
	fi
}

gofmt_check() {
	local out
	out=$(find . -name '*.go' -not -name '*_templ.go' -not -path './.git/*' -not -path './vendor/*' -print0 | xargs -0 gofmt -l)
	if [[ -n "$out" ]]; then
		printf 'Not gofmt-ed (run gofmt -w):\n%s\n' "$out" >&2
		return 1
	fi
}

tidy_check() {
	local out
	if ! out=$(go mod tidy -diff 2>&1); then
		printf '%s\nRun go mod tidy: go.mod or go.sum is not tidy (diff above).\n' "$out" >&2
		return 1
	fi
}

main() {
	command -v go >/dev/null 2>&1 || die "Go is not installed (https://go.dev/dl/)"

	local extra=() pkgs=()
	read -r -a extra <<<"${TEST_ARGS:-}"
	read -r -a pkgs <<<"${TEST_PKGS:-./...}"

	setup_mysql
	setup_chromium
	log "Test environment: COEX_TEST_MYSQL_URL=${COEX_TEST_MYSQL_URL:-<none>} COEX_TEST_REQUIRE_MYSQL=${COEX_TEST_REQUIRE_MYSQL:-<unset>} COEX_TEST_CHROMIUM=${COEX_TEST_CHROMIUM:-<none>}"

	step "templ drift" templ_drift
	step "gofmt" gofmt_check
	step "go mod tidy" tidy_check
	step "go vet" go vet ./...
	step "go test" go test -count=1 -timeout 12m ${extra[@]+"${extra[@]}"} "${pkgs[@]}"
	step "benchmark smoke" go test -count=1 -run '^$' -bench . -benchtime 1x -timeout 5m "${pkgs[@]}"
	# The whole suite also runs a 3-node Galera cluster with a node killed mid-sync (about a
	# minute; docs/galera.md). COEX_TEST_SKIP_GALERA=1 leaves it out.
	if [[ -z ${TEST_PKGS:-} && -z ${TEST_ARGS:-} && ${COEX_TEST_SKIP_GALERA:-0} != 1 ]]; then
		if [[ -e /usr/lib/galera/libgalera_smm.so ]] || can_apt; then
			step "galera cluster" bash scripts/galera-test.sh
		else
			warn "Galera cluster test skipped: galera-4 is not installed and cannot be (docs/galera.md)"
		fi
	fi
	log "All checks passed."
}

main "$@"
