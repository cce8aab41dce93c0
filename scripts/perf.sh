#!/usr/bin/env bash
# Measures tapsim's authorisation path; needs bin/tapsim (make build) and jq.
#
#   scripts/perf.sh ratio CEILING [ROUNDS] [TERMINALS...]
#       alternates the bare two-hop ISO 8583 echo CEILING (its "-role all -clients N
#       -duration 6s" run, one JSON line with msgs_per_s) and "tapsim load --terminals N
#       --duration 6s" (hosts embedded), ROUNDS times (default 3) for each N (default
#       1 8 32), and prints each pair with the ratio tx/s / msgs_per_s.
#   scripts/perf.sh cpu [TERMINALS] [DURATION] [LOAD FLAGS...]
#       runs the issuer, the acquirer and the load generator as three processes on
#       loopback and prints tx/s, sale p50/p99 and the CPU time (user + system, from
#       /proc/PID/stat and the load's rusage) per authorisation of each process.
#   scripts/perf.sh rss [RUNS]
#       three processes; RUNS (default 10) runs of "--rate 1000 --terminals 32
#       --duration 30s" against the same acquirer, printing its RSS after each.
#
# The machine should be quiet; on a shared one compare ratios from runs alternated in
# the same minutes, never absolute figures.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/bin/tapsim
[ -x "$bin" ] || { echo "perf: build bin/tapsim first (make build)" >&2; exit 2; }
command -v jq >/dev/null || { echo "perf: needs jq" >&2; exit 2; }

load_line() { # the summary of a load run, one line
	jq -r '"tx/s \(.throughput_tps) n \(.transactions) errors \(.errors) p50 \(.latency_ms.sale.p50) ms p99 \(.latency_ms.sale.p99) ms" +
		(if .start_lag_ms then " start lag p50 \(.start_lag_ms.p50) ms p99 \(.start_lag_ms.p99) ms" else "" end)'
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# start_hosts DIR: issuer and acquirer on loopback, their PIDs in ISS and ACQ.
start_hosts() {
	local dir=$1
	"$bin" issuer --listen 127.0.0.1:18583 --data "$dir" >"$dir/issuer.log" 2>&1 &
	ISS=$!
	for _ in $(seq 300); do grep -q "listening" "$dir/issuer.log" 2>/dev/null && break; sleep 0.1; done
	"$bin" acquirer --listen 127.0.0.1:18584 --issuer 127.0.0.1:18583 --data "$dir" >"$dir/acquirer.log" 2>&1 &
	ACQ=$!
	for _ in $(seq 300); do grep -q "signed on" "$dir/acquirer.log" 2>/dev/null && break; sleep 0.1; done
}

stop_hosts() {
	kill "$ACQ" "$ISS" 2>/dev/null || true
	wait "$ACQ" "$ISS" 2>/dev/null || true
}

case ${1:-} in
ratio)
	ceiling=${2:?perf ratio: give the path of the bare echo}
	rounds=${3:-3}
	shift $(($# < 3 ? $# : 3))
	terms=${*:-1 8 32}
	for t in $terms; do
		for _ in $(seq "$rounds"); do
			echo_mps=$("$ceiling" -role all -clients "$t" -duration 6s 2>/dev/null | jq -r .msgs_per_s)
			out=$("$bin" load --terminals "$t" --duration 6s --json 2>/dev/null)
			tps=$(jq -r .throughput_tps <<<"$out")
			printf 'terminals %s  echo msg/s %.0f  load %s  ratio %.3f\n' "$t" "$echo_mps" "$(load_line <<<"$out")" \
				"$(awk -v a="$tps" -v b="$echo_mps" 'BEGIN{print a/b}')"
		done
	done
	;;
cpu)
	t=${2:-32}
	d=${3:-30s}
	shift $(($# < 3 ? $# : 3))
	dir=$(mktemp -d)
	trap 'stop_hosts; rm -rf "$dir"' EXIT
	start_hosts "$dir"
	"$bin" load --acquirer 127.0.0.1:18584 --terminals "$t" --count 500 --data "$dir" --json >/dev/null 2>&1 # warm-up
	hz=$(getconf CLK_TCK)
	i0=$(cpu_ticks "$ISS")
	a0=$(cpu_ticks "$ACQ")
	/usr/bin/time -f '%U %S' -o "$dir/load.time" "$bin" load --acquirer 127.0.0.1:18584 --terminals "$t" --duration "$d" \
		--data "$dir" --json "$@" >"$dir/load.json" 2>/dev/null || true
	i1=$(cpu_ticks "$ISS")
	a1=$(cpu_ticks "$ACQ")
	load_line <"$dir/load.json"
	n=$(jq -r .transactions <"$dir/load.json")
	read -r lu ls <"$dir/load.time"
	awk -v n="$n" -v hz="$hz" -v i="$((i1 - i0))" -v a="$((a1 - a0))" -v l="$lu $ls" 'BEGIN{
		split(l, x, " ")
		printf "CPU ms per authorisation: issuer %.3f acquirer %.3f load %.3f\n", i/hz*1000/n, a/hz*1000/n, (x[1]+x[2])*1000/n }'
	;;
rss)
	runs=${2:-10}
	dir=$(mktemp -d)
	trap 'stop_hosts; rm -rf "$dir"' EXIT
	start_hosts "$dir"
	for r in $(seq "$runs"); do
		line=$("$bin" load --acquirer 127.0.0.1:18584 --rate 1000 --terminals 32 --duration 30s --data "$dir" --json 2>/dev/null | load_line)
		echo "run $r: $line  acquirer $(grep VmRSS "/proc/$ACQ/status" | tr -s ' ')  issuer $(grep VmRSS "/proc/$ISS/status" | tr -s ' ')"
	done
	;;
*)
	sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
	;;
esac
