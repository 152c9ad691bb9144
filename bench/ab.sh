#!/usr/bin/env bash
# bench/ab.sh: two switchyard builds against each other, alternated, on the
# cell that is noisiest in bench/run.sh (streaming at maximum throughput).
#
# A whole bench/run.sh matrix takes minutes, and the machine's noise moves
# between runs by more than most changes do. This starts one simulated
# provider and one floor, then for ROUNDS rounds serves with build A, then
# build B (each a fresh process with an empty usage ledger), then measures
# the floor: each cell is a closed loop of CONNS connections for DURATION,
# after a one-second warm-up. It prints, per cell, requests per second, the
# CPU time of the process under test per request (from /proc/PID/stat) and
# the median latency. Every load is bounded by DURATION and a request count.
#
#   git worktree add /tmp/old <rev> && (cd /tmp/old && go build -o /tmp/a ./cmd/switchyard)
#   go build -o /tmp/b ./cmd/switchyard
#   bench/ab.sh /tmp/a /tmp/b          # ROUNDS=3 DURATION=5s CONNS=50 STREAM=true
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: bench/ab.sh BUILD_A BUILD_B" >&2; exit 2; }
cd "$(dirname "$0")/.."
A=$1
B=$2
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-50}
STREAM=${STREAM:-true}
SIM_ADDR=127.0.0.1:19090
FLOOR_ADDR=127.0.0.1:19081
GW_ADDR=127.0.0.1:19080
BIN=$(mktemp -d /tmp/switchyard-ab.XXXXXX)
go build -o "$BIN/floor" ./bench/floor

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

# wait_up polls a TCP port for at most 10 s.
wait_up() {
	for _ in $(seq 1 100); do
		if (exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "ab: $1 did not come up" >&2
	return 1
}
# ticks prints utime+stime of a process, in clock ticks.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

"$B" sim --listen "$SIM_ADDR" --config bench/sim.yaml >/dev/null 2>&1 &
pids+=($!)
"$BIN/floor" --listen "$FLOOR_ADDR" --upstream "http://$SIM_ADDR" >/dev/null 2>&1 &
FLOOR_PID=$!
pids+=("$FLOOR_PID")
wait_up "$SIM_ADDR"
wait_up "$FLOOR_ADDR"

load=(--max --connections "$CONNS" --requests 1000000 --json)
[ "$STREAM" = true ] && load+=(--stream)
# cell LABEL URL MODEL PID runs one measured cell and prints its line.
cell() {
	local t0 t1 out
	t0=$(ticks "$4")
	out=$("$B" bench --url "$2" --model "$3" --duration "$DURATION" "${load[@]}")
	t1=$(ticks "$4")
	echo "$out" | awk -v label="$1" -v ticks=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" '
		/"ok":/ { gsub(/[^0-9]/, "", $2); ok = $2 }
		/"throughput_rps":/ { gsub(/[^0-9.]/, "", $2); rps = $2 }
		/"p50_ns":/ && !p50 { gsub(/[^0-9]/, "", $2); p50 = $2 }
		END { printf "%-12s %8.0f req/s  %6.0f µs CPU/req  p50 %6.2f ms\n", label, rps, ticks * 1e6 / hz / (ok ? ok : 1), p50 / 1e6 }'
}

for round in $(seq 1 "$ROUNDS"); do
	for build in A B; do
		bin=$A
		[ "$build" = B ] && bin=$B
		rm -f /tmp/switchyard-bench.db /tmp/switchyard-bench.db-wal /tmp/switchyard-bench.db-shm /tmp/switchyard-bench.spool
		"$bin" serve --config bench/switchyard.yaml --listen "$GW_ADDR" >/dev/null 2>&1 &
		gw=$!
		wait_up "$GW_ADDR"
		"$B" bench --url "http://$GW_ADDR/v1" --model auto --duration 1s "${load[@]}" >/dev/null || true
		cell "$round $build" "http://$GW_ADDR/v1" auto "$gw"
		kill "$gw"
		wait "$gw" 2>/dev/null || true
	done
	cell "$round floor" "http://$FLOOR_ADDR/v1" bench "$FLOOR_PID"
done
