#!/usr/bin/env bash
# bench/run.sh: Switchyard against the floor (a bare httputil.ReverseProxy)
# and the simulated provider called directly, in one run on this machine.
#
# Starts three processes on loopback: the simulated provider with zero
# latency (bench/sim.yaml), bench/floor -> sim, and switchyard serve -> sim
# (bench/switchyard.yaml). Then, for non-streaming and streaming requests,
# at 500 req/s, 1000 req/s (open loop) and at maximum throughput (closed
# loop, 50 connections), it runs `switchyard bench` against each target in
# turn, reads the CPU time of the process under test from /proc/PID/stat
# and at the end each process's peak RSS (VmHWM), and prints a markdown
# table with ratios to the floor (bench/report).
#
# Every load is bounded by DURATION and a request count; the whole run takes
# about 18 * (DURATION + 1s) plus the builds (about 2-3 minutes by default).
#
#   bench/run.sh                   # DURATION=5s
#   DURATION=10s bench/run.sh      # longer cells
#   OUT=/tmp/b bench/run.sh        # keep the raw JSON results there
#   SWITCHYARD_BIN=path bench/run.sh  # use a prebuilt switchyard binary
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${DURATION:-5s}
RATES=${RATES:-"500 1000"}
CONNS=${CONNS:-50}
SIM_ADDR=127.0.0.1:19090
FLOOR_ADDR=127.0.0.1:19081
GW_ADDR=127.0.0.1:19080
OUT=${OUT:-$(mktemp -d /tmp/switchyard-bench.XXXXXX)}
BIN=$OUT/bin
mkdir -p "$BIN"
secs=${DURATION%s}
# A hard cap on requests per cell, so that no cell can run away even if the
# duration were ignored: 30k req/s for the cell's duration.
MAX_REQ=$((30000 * ${secs%.*}))

echo "building into $BIN" >&2
if [ -n "${SWITCHYARD_BIN:-}" ]; then
	cp "$SWITCHYARD_BIN" "$BIN/switchyard" # a prebuilt binary, e.g. of another revision
else
	go build -o "$BIN/switchyard" ./cmd/switchyard
fi
go build -o "$BIN/floor" ./bench/floor
go build -o "$BIN/report" ./bench/report

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

"$BIN/switchyard" sim --listen "$SIM_ADDR" --config bench/sim.yaml >"$OUT/sim.log" 2>&1 &
SIM_PID=$!
pids+=("$SIM_PID")
"$BIN/floor" --listen "$FLOOR_ADDR" --upstream "http://$SIM_ADDR" >"$OUT/floor.log" 2>&1 &
FLOOR_PID=$!
pids+=("$FLOOR_PID")
# Every run starts with an empty usage ledger (bench/switchyard.yaml keeps
# it under /tmp), so one run's records do not weigh on the next.
rm -f /tmp/switchyard-bench.db /tmp/switchyard-bench.db-wal /tmp/switchyard-bench.db-shm /tmp/switchyard-bench.spool
"$BIN/switchyard" serve --config bench/switchyard.yaml --listen "$GW_ADDR" >"$OUT/switchyard.log" 2>&1 &
GW_PID=$!
pids+=("$GW_PID")

# wait_up polls a TCP port for at most 10 s.
wait_up() {
	for _ in $(seq 1 100); do
		if (exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "bench: $1 did not come up" >&2
	return 1
}
wait_up "$SIM_ADDR"
wait_up "$FLOOR_ADDR"
wait_up "$GW_ADDR"

# ticks prints utime+stime of a process, in clock ticks.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

declare -A URL=([direct]="http://$SIM_ADDR/v1" [floor]="http://$FLOOR_ADDR/v1" [switchyard]="http://$GW_ADDR/v1")
declare -A MODEL=([direct]=bench [floor]=bench [switchyard]=auto)
declare -A PID=([direct]=$SIM_PID [floor]=$FLOOR_PID [switchyard]=$GW_PID)
TARGETS="direct floor switchyard"

# Warm up every target (connections, caches) without recording.
for t in $TARGETS; do
	"$BIN/switchyard" bench --url "${URL[$t]}" --model "${MODEL[$t]}" --max --connections "$CONNS" \
		--duration 1s --requests 20000 --json >/dev/null || true
done

rows=$OUT/rows.tsv
: >"$rows"
for stream in false true; do
	for load in $RATES max; do
		for t in $TARGETS; do
			args=(--url "${URL[$t]}" --model "${MODEL[$t]}" --duration "$DURATION" --requests "$MAX_REQ" --json)
			[ "$stream" = true ] && args+=(--stream)
			if [ "$load" = max ]; then args+=(--max --connections "$CONNS"); else args+=(--rate "$load"); fi
			f=$OUT/$t-$stream-$load.json
			p0=$(ticks "${PID[$t]}")
			s0=$(ticks "$SIM_PID")
			"$BIN/switchyard" bench "${args[@]}" >"$f" || true
			p1=$(ticks "${PID[$t]}")
			s1=$(ticks "$SIM_PID")
			printf 'cell\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$stream" "$load" $((p1 - p0)) $((s1 - s0)) "$f" >>"$rows"
			echo "done: $t stream=$stream load=$load" >&2
		done
	done
done
for t in $TARGETS; do
	name=$t
	[ "$t" = direct ] && name=sim
	# VmHWM is the peak; RssFile (now) is the part of it that is the
	# executable's and libraries' pages, shared and clean, read back from disk
	# when dropped; peak anonymous memory is at most VmHWM - RssFile.
	printf 'rss\t%s\t%s\t%s\n' "$name" "$(awk '/VmHWM/ {print $2}' "/proc/${PID[$t]}/status")" \
		"$(awk '/RssFile/ {print $2}' "/proc/${PID[$t]}/status")" >>"$rows"
done

"$BIN/report" --clk-tck "$(getconf CLK_TCK)" --duration "$DURATION" --conns "$CONNS" "$rows"
echo "raw results: $OUT" >&2
