#!/usr/bin/env bash
# A 3-node MariaDB Galera cluster on loopback, two coexhistory instances writing through two
# different nodes, a node killed with kill -9 in the middle of a history sync and rejoined:
# checks that every message is stored exactly once on all three nodes and that no inbox row
# waited for a lease (the sync and its re-apply each finish well inside one lease, 30 s).
#
#   bash scripts/galera-test.sh                      # 20,000 messages (CI size)
#   GALERA_MESSAGES=200000 bash scripts/galera-test.sh
#   GALERA_MODE=single …   both instances write through node 1 (one writer node, as behind
#                          a proxy such as MaxScale); default multi: a through node 1, b through node 2
#   GALERA_KILL=0 …        no node is killed (for clean figures)
#   GALERA_KEEP=1 …        leave the cluster's directory for inspection
#
# Each node has its own data directory and ports (client, group communication, IST, SST)
# under /tmp/coex-galera.*; nothing else on the machine is touched. It installs galera-4,
# mariadb-server and rsync with apt-get when they are missing (Debian, as root). Output ends
# with the figures and "galera: N passed, 0 failed".
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

MESSAGES=${GALERA_MESSAGES:-20000}
THREADS=${GALERA_THREADS:-$((MESSAGES / 20))}
BODY_MB=${GALERA_BODY_MB:-0.25}
PROVIDER=${GALERA_PROVIDER:-/usr/lib/galera/libgalera_smm.so}
LEASE_S=30

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() {
	printf '\033[31mxxx %s\033[0m\n' "$*" >&2
	exit 1
}

if [[ ! -e $PROVIDER ]] || ! command -v mariadbd >/dev/null || ! command -v rsync >/dev/null; then
	if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
		log "Installing galera-4, mariadb-server and rsync"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends galera-4 mariadb-server rsync >/dev/null
	fi
fi
[[ -e $PROVIDER ]] || die "no Galera provider at $PROVIDER (apt-get install galera-4)"
command -v mariadbd >/dev/null || die "mariadbd not found (apt-get install mariadb-server)"
command -v rsync >/dev/null || die "rsync not found (the SST method)"

DIR=$(mktemp -d /tmp/coex-galera.XXXXXX)
chmod 755 "$DIR"
PIDS=()
SERVER_PIDS=()
cleanup() {
	local p
	for p in "${SERVER_PIDS[@]}" "${PIDS[@]}"; do
		[[ -n $p ]] && kill "$p" 2>/dev/null || true
	done
	for p in "${SERVER_PIDS[@]}" "${PIDS[@]}"; do
		[[ -n $p ]] && wait "$p" 2>/dev/null || true
	done
	if [[ ${GALERA_KEEP:-0} == 1 ]]; then
		log "kept $DIR"
	else
		rm -rf "$DIR"
	fi
}
trap cleanup EXIT

# port_in_use PORT: something answers on 127.0.0.1:PORT.
port_in_use() { (: </dev/tcp/127.0.0.1/"$1") 2>/dev/null; }
# A block of 42 ports below Linux's ephemeral range (32768+), where outgoing connections of
# the rest of the suite cannot be holding one, and none of them in use.
for attempt in $(seq 20); do
	base=$((20000 + RANDOM % 12700))
	free=1
	for off in $(seq 1 42); do
		if port_in_use $((base + off)); then
			free=0
			break
		fi
	done
	((free)) && break
done
((free)) || die "no free block of ports for the cluster"
for i in 1 2 3; do
	PORT[i]=$((base + i))         # client
	GCOMM[i]=$((base + 10 + i))   # group communication
	IST[i]=$((base + 20 + i))     # incremental state transfer
	SST[i]=$((base + 30 + i))     # state snapshot transfer (rsync)
done
CLUSTER="gcomm://127.0.0.1:${GCOMM[1]},127.0.0.1:${GCOMM[2]},127.0.0.1:${GCOMM[3]}"
as_user=()
[[ $(id -u) -eq 0 ]] && as_user=(--user=root)

# start_node I [--wsrep-new-cluster]: starts node I and waits until it is synced.
start_node() {
	local i=$1
	shift
	if [[ ! -d $DIR/n$i && $* == *--wsrep-new-cluster* ]]; then
		mariadb-install-db --no-defaults --datadir="$DIR/n$i" --auth-root-authentication-method=normal \
			--skip-test-db ${as_user[@]+"${as_user[@]}"} >"$DIR/install$i.log" 2>&1 || die "install node $i"
	fi
	# A joiner starts empty and receives a snapshot (SST) from a member: the rsync daemon that
	# writes it runs as nobody when started by root, so it must own the directory.
	mkdir -p "$DIR/n$i"
	[[ $(id -u) -eq 0 && $* != *--wsrep-new-cluster* ]] && chown -R nobody: "$DIR/n$i"
	mariadbd --no-defaults --datadir="$DIR/n$i" --socket="$DIR/n$i.sock" --port="${PORT[i]}" \
		--bind-address=127.0.0.1 ${as_user[@]+"${as_user[@]}"} --pid-file="$DIR/n$i.pid" --log-error="$DIR/n$i.err" \
		--innodb-buffer-pool-size=128M --innodb-log-file-size=64M --innodb-flush-log-at-trx-commit=2 \
		--innodb-ft-min-token-size=2 --ft-min-word-len=2 \
		--character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
		--binlog-format=ROW --default-storage-engine=InnoDB --innodb-autoinc-lock-mode=2 \
		--wsrep-on=ON --wsrep-provider="$PROVIDER" --wsrep-cluster-name=coex --wsrep-node-name="n$i" \
		--wsrep-cluster-address="$CLUSTER" --wsrep-node-address="127.0.0.1:${GCOMM[i]}" \
		--wsrep-node-incoming-address="127.0.0.1:${PORT[i]}" \
		--wsrep-provider-options="gmcast.listen_addr=tcp://127.0.0.1:${GCOMM[i]};ist.recv_addr=127.0.0.1:${IST[i]};gcache.size=256M;evs.keepalive_period=PT0.3S;evs.suspect_timeout=PT1.5S;evs.inactive_timeout=PT3S;evs.inactive_check_period=PT0.5S" \
		--wsrep-sst-method=rsync --wsrep-sst-receive-address="127.0.0.1:${SST[i]}" \
		--wsrep-slave-threads=2 "$@" >>"$DIR/n$i.out" 2>&1 &
	NODE_PID[i]=$!
	PIDS+=("${NODE_PID[i]}")
	local t
	for ((t = 0; t < 1200; t++)); do
		if [[ $(mariadb --no-defaults -uroot --socket="$DIR/n$i.sock" -N -e "SHOW STATUS LIKE 'wsrep_local_state_comment'" 2>/dev/null | cut -f2) == Synced ]]; then
			return 0
		fi
		kill -0 "${NODE_PID[i]}" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 40 "$DIR/n$i.err" >&2
	die "node $i did not reach Synced"
}

sql() { # sql I QUERY: runs QUERY on node I, tab-separated, no headers
	mariadb --no-defaults -uroot --socket="$DIR/n$1.sock" -N -e "$2"
}

T0=$SECONDS
log "Starting a 3-node Galera cluster in $DIR (client ports ${PORT[1]} ${PORT[2]} ${PORT[3]})"
start_node 1 --wsrep-new-cluster
start_node 2
start_node 3
log "cluster of $(sql 1 "SHOW STATUS LIKE 'wsrep_cluster_size'" | cut -f2) nodes synced in $((SECONDS - T0)) s"
sql 1 "CREATE USER 'coex'@'127.0.0.1' IDENTIFIED BY 'coex'; GRANT ALL PRIVILEGES ON *.* TO 'coex'@'127.0.0.1';
	CREATE DATABASE coexhistory CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"

log "Building coexhistory"
go build -o "$DIR/coexhistory" ./cmd/coexhistory
hosts() { # hosts I J K: the nodes' client addresses in that order
	local out="" i
	for i in "$@"; do out+="${out:+,}127.0.0.1:${PORT[i]}"; done
	echo "$out"
}
URL_A="mysql://coex:coex@$(hosts 1 3 2)/coexhistory"
URL_B="mysql://coex:coex@$(hosts 2 3 1)/coexhistory"
MODE=${GALERA_MODE:-multi}
KILL=${GALERA_KILL:-1}
[[ $MODE == single ]] && URL_B=$URL_A
URL_BENCH="mysql://coex:coex@$(hosts 3 1 2)/coexhistory"
COEX_DATABASE_URL=$URL_A "$DIR/coexhistory" migrate up >"$DIR/migrate.log" 2>&1 || {
	cat "$DIR/migrate.log"
	die "migrate up"
}

SECRET=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
VERIFY=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
start_instance() { # start_instance NAME URL PORT
	COEX_DATABASE_URL=$2 COEX_ADDR=127.0.0.1:$3 COEX_INSTANCE_ID=$1 COEX_APP_SECRET=$SECRET \
		COEX_VERIFY_TOKEN=$VERIFY COEX_SECRET_KEY=$KEY "$DIR/coexhistory" serve >"$DIR/serve-$1.log" 2>&1 &
	SERVER_PIDS+=($!)
	local t
	for ((t = 0; t < 300; t++)); do
		curl -fsS "http://127.0.0.1:$3/readyz" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	tail -n 30 "$DIR/serve-$1.log" >&2
	die "instance $1 did not become ready"
}
APORT=$((base + 41))
BPORT=$((base + 42))
start_instance a "$URL_A" "$APORT"
start_instance b "$URL_B" "$BPORT"
log "instances a (node 1 first) on :$APORT and b (node $([[ $MODE == single ]] && echo 1 || echo 2) first) on :$BPORT"

# While the sync runs: node 2, the one instance b writes through, is killed with kill -9 as
# soon as b has applied something, then started again and rejoins (IST or SST).
(
	((KILL == 1)) || exit 0
	[[ $MODE == single ]] && echo "(single writer: node 2 is killed while both instances write through node 1)"
	for ((t = 0; t < 600; t++)); do
		n=$(sql 2 "SELECT COUNT(*) FROM coexhistory.webhook_inbox WHERE state = 'done'" 2>/dev/null || echo 0)
		((n >= 2)) && break
		sleep 0.05
	done
	echo "kill -9 node 2 at $(date +%T.%N | cut -c1-12) ($n rows done)"
	kill -9 "$(cat "$DIR/n2.pid")"
	# b's webhooks must be answered again within 5 s: probe its readiness.
	start=$(date +%s%N)
	for ((t = 0; t < 100; t++)); do
		curl -fsS "http://127.0.0.1:$BPORT/readyz" >/dev/null 2>&1 && break
		sleep 0.05
	done
	echo "instance b ready again $((($(date +%s%N) - start) / 1000000)) ms after the kill"
	sleep 2
) >"$DIR/killer.log" 2>&1 &
KILLER=$!

log "Syncing $MESSAGES messages through both instances (bench ingest --url a,b)"
set +e
COEX_DATABASE_URL=$URL_BENCH COEX_WORKERS=2 "$DIR/coexhistory" bench ingest \
	--url "http://127.0.0.1:$APORT,http://127.0.0.1:$BPORT" --app-secret "$SECRET" \
	--messages "$MESSAGES" --threads "$THREADS" --body-mb "$BODY_MB" --concurrency 4 --keep \
	--spool-dir "$DIR" >"$DIR/bench.log" 2>&1
BENCH_RC=$?
set -e
wait "$KILLER" || true
cat "$DIR/killer.log"
cat "$DIR/bench.log"

if ((KILL == 1)); then
	log "Rejoining node 2"
	T1=$SECONDS
	start_node 2
	echo "node 2 rejoined and synced in $((SECONDS - T1)) s"
fi

PASSED=0
FAILED=0
check() { # check NAME CONDITION-EXIT-STATUS DETAIL
	if [[ $2 == 0 ]]; then
		PASSED=$((PASSED + 1))
		echo "ok   $1 ($3)"
	else
		FAILED=$((FAILED + 1))
		echo "FAIL $1 ($3)"
	fi
}
check "benchmark finished (every message counted, replays added nothing)" "$BENCH_RC" "exit $BENCH_RC"
PNID=$(sed -nE 's/.*\(number ([0-9]+)\).*/\1/p' "$DIR/bench.log" | head -1)
grep -q "replay: every body posted again .* +0 inbox rows, +0 messages" "$DIR/bench.log" && r=0 || r=1
check "replay of every body added no inbox row and no message" $r "bench"
for i in 1 2 3; do
	got=$(sql "$i" "SELECT COUNT(*), COUNT(DISTINCT wamid) FROM coexhistory.messages WHERE phone_number_id = '$PNID'" | tr '\t' ' ')
	[[ $got == "$MESSAGES $MESSAGES" ]] && r=0 || r=1
	check "node $i stores every message exactly once" $r "rows, distinct: $got; want $MESSAGES"
	pend=$(sql "$i" "SELECT COUNT(*) FROM coexhistory.webhook_inbox WHERE state <> 'done'")
	[[ $pend == 0 ]] && r=0 || r=1
	check "node $i: every inbox row done" $r "$pend not done"
done
fresh=$(sed -nE 's/^fresh sync: .* applied in ([0-9.]+) s.*/\1/p' "$DIR/bench.log")
reapply=$(sed -nE 's/^replay, every inbox row requeued: applied again in ([0-9.]+) s.*/\1/p' "$DIR/bench.log")
lim=$LEASE_S
((MESSAGES > 50000)) && lim=$((LEASE_S * MESSAGES / 20000)) # larger syncs: the lease check is the log's
awk -v f="${fresh:-999}" -v l=$lim 'BEGIN { exit !(f < l) }' && r=0 || r=1
check "fresh sync finished inside one lease: no row waited for a lease" $r "${fresh:-?} s < $lim s"
awk -v f="${reapply:-999}" -v l=$lim 'BEGIN { exit !(f < l) }' && r=0 || r=1
check "re-apply with two instances finished inside one lease" $r "${reapply:-?} s < $lim s"
handed=$(cat "$DIR/serve-a.log" "$DIR/serve-b.log" | grep -c "failed to apply; will retry\|keeps failing" || true)
((handed == 0)) && r=0 || r=1
check "no inbox row was handed back after a conflict" $r "$handed rows handed back"
if ((KILL == 1)); then
	ready=$(sed -nE 's/instance b ready again ([0-9]+) ms.*/\1/p' "$DIR/killer.log")
	((${ready:-99999} <= 5000)) && r=0 || r=1
	check "instance b ready again within 5 s of its node's kill (failover)" $r "${ready:-?} ms"
	if [[ $MODE == multi ]]; then
		changes=$(grep -c "database host changed" "$DIR/serve-b.log" || true)
		((changes >= 1)) && r=0 || r=1
		check "instance b moved to another node" $r "$changes host changes logged"
	fi
fi
claimlines=$(cat "$DIR/serve-a.log" "$DIR/serve-b.log" | grep -c "claim inbox rows fails" || true)
((claimlines <= 4)) && r=0 || r=1
check "claim errors logged once per outage, not per poll" $r "$claimlines lines"
echo
echo "server warnings (a, b):"
grep -h "level=WARN" "$DIR/serve-a.log" "$DIR/serve-b.log" | cut -c1-240 | sort | uniq -c | sort -rn | head -10 || true
echo "certification failures per node: $(for i in 1 2 3; do sql "$i" "SHOW STATUS LIKE 'wsrep_local_cert_failures'" | cut -f2; done | tr '\n' ' ')"
echo "took $((SECONDS - T0)) s in all"
echo "galera: $PASSED passed, $FAILED failed"
((FAILED == 0))
