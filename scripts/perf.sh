#!/usr/bin/env bash
# Measures tapsim's authorisation path; needs bin/tapsim (make build), or the binary
# named by TAPSIM_BIN, jq, and for cpu and pairs /usr/bin/time (Debian's package time).
#
#   scripts/perf.sh ratio CEILING [ROUNDS] [TERMINALS...]
#       alternates the bare two-hop ISO 8583 echo CEILING (its "-role all -clients N
#       -duration 6s" run, one JSON line with msgs_per_s) and "tapsim load --terminals N
#       --duration 6s" (hosts embedded), ROUNDS times (default 3) for each N (default
#       1 8 32), and prints each pair with the ratio tx/s / msgs_per_s, then for
#       each N the median ratio and the range.
#   scripts/perf.sh ratio3 CEILING [ROUNDS] [TERMINALS]
#       the same with three processes on each side: the echo's responder and relay
#       (-role responder, -role relay) and the issuer and acquirer started once, then
#       ROUNDS times (default 5) the echo's "-role client -clients N -duration 6s"
#       alternated with "tapsim load --acquirer ... --terminals N --duration 6s"
#       (default N 32); prints each pair, the median ratio and the range.
#   scripts/perf.sh cpu [TERMINALS] [DURATION] [LOAD FLAGS...]
#       runs the issuer, the acquirer and the load generator as three processes on
#       loopback and prints tx/s, sale p50/p99 and the CPU time (user + system, from
#       /proc/PID/stat and the load's rusage) per authorisation of each process.
#   scripts/perf.sh rss [RUNS]
#       three processes; RUNS (default 10) runs of "--rate 1000 --terminals 32
#       --duration 30s" against the same acquirer, printing its RSS after each.
#   scripts/perf.sh scale [TERMINALS] [DURATION] [ROUNDS] [LOAD FLAGS...]
#       starts a private PostgreSQL server in a temporary directory (default durability:
#       fsync and synchronous commits on) and two issuer processes on one database, and
#       alternates ROUNDS times (default 3) "tapsim load --terminals N --duration D"
#       (default 32, 20s) through an acquirer routing the load BIN to the first issuer
#       only, then through one routing it to both (--issuer ADDR,ADDR); prints tx/s,
#       sale p50/p99, the authorisations and CPU ms per authorisation of each issuer
#       process, the CPU per authorisation of the acquirer, load and PostgreSQL, the
#       cores the path used (and sales per such core) and how busy the machine was. PIN=CPUS in the environment (e.g. PIN=0) runs the
#       issuer processes on those CPUs only (taskset), everything else on the others.
#   scripts/perf.sh pairs OTHER [ROUNDS] [LOAD FLAGS...]
#       alternates ROUNDS times (default 8) an embedded "load --json LOAD FLAGS" (default
#       --terminals 32 --duration 6s) of the binary OTHER (another build) and of this
#       one, and prints each pair's tx/s and CPU per sale (user + system of the load
#       process, which runs the hosts too, from its rusage), their ratios (this / OTHER),
#       and the medians of the ratios.
#
# The machine should be quiet; on a shared one compare ratios from runs alternated in
# the same minutes, never absolute figures.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${TAPSIM_BIN:-$PWD/bin/tapsim}
[ -x "$bin" ] || { echo "perf: build bin/tapsim first (make build)" >&2; exit 2; }
command -v jq >/dev/null || { echo "perf: needs jq" >&2; exit 2; }
case ${1:-} in cpu | pairs) [ -x /usr/bin/time ] || { echo "perf: needs /usr/bin/time (apt-get install time)" >&2; exit 2; } ;; esac

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

# ratio_rounds LABEL ROUNDS ECHO LOAD: ROUNDS times the echo's msg/s (the
# command ECHO, one JSON line) then a load run (the command LOAD, its JSON
# summary), each pair printed with its ratio tx/s / msg/s, then the median
# ratio and the range.
ratio_rounds() {
	local label=$1 rounds=$2 echo_cmd=$3 load_cmd=$4 ratios=() echo_mps out tps r
	for _ in $(seq "$rounds"); do
		echo_mps=$("$echo_cmd" | jq -r .msgs_per_s)
		out=$("$load_cmd")
		tps=$(jq -r .throughput_tps <<<"$out")
		r=$(awk -v a="$tps" -v b="$echo_mps" 'BEGIN{printf "%.3f", a/b}')
		ratios+=("$r")
		printf '%s  echo msg/s %.0f  load %s  ratio %s\n' "$label" "$echo_mps" "$(load_line <<<"$out")" "$r"
	done
	printf '%s\n' "${ratios[@]}" | sort -n | awk -v l="$label" '{ a[NR] = $1 }
		END { printf "%s  median ratio %.3f (%d rounds, %.3f to %.3f)\n", l,
			NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2, NR, a[1], a[NR] }'
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
	echo_all() { "$ceiling" -role all -clients "$t" -duration 6s 2>/dev/null; }
	load_embedded() { "$bin" load --terminals "$t" --duration 6s --json 2>/dev/null; }
	for t in $terms; do
		ratio_rounds "terminals $t" "$rounds" echo_all load_embedded
	done
	;;
ratio3)
	ceiling=${2:?perf ratio3: give the path of the bare echo}
	rounds=${3:-5}
	t=${4:-32}
	dir=$(mktemp -d)
	RESP= RELAY=
	trap 'kill $RELAY $RESP 2>/dev/null || true; wait $RELAY $RESP 2>/dev/null || true; stop_hosts; rm -rf "$dir"' EXIT
	"$ceiling" -role responder >"$dir/responder.log" 2>&1 &
	RESP=$!
	up() { for _ in $(seq 300); do (: </dev/tcp/127.0.0.1/"$1") 2>/dev/null && return; sleep 0.1; done; echo "perf: nothing on port $1" >&2; exit 1; }
	up 20101
	"$ceiling" -role relay >"$dir/relay.log" 2>&1 &
	RELAY=$!
	up 20102
	start_hosts "$dir"
	"$bin" load --acquirer 127.0.0.1:18584 --terminals "$t" --count 500 --data "$dir" --json >/dev/null 2>&1 # warm-up
	echo_client() { "$ceiling" -role client -clients "$t" -duration 6s 2>/dev/null; }
	load_three() { "$bin" load --acquirer 127.0.0.1:18584 --terminals "$t" --duration 6s --data "$dir" --json 2>/dev/null; }
	ratio_rounds "three processes, terminals $t" "$rounds" echo_client load_three
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
scale)
	t=${2:-32}
	d=${3:-20s}
	rounds=${4:-3}
	shift $(($# < 4 ? $# : 4))
	pgbin=$(ls -d /usr/lib/postgresql/*/bin /usr/pgsql-*/bin /usr/local/pgsql/bin 2>/dev/null | sort -V | tail -n 1 || true)
	[ -n "$pgbin" ] || pgbin=$(dirname "$(command -v initdb || echo /none/initdb)")
	[ -x "$pgbin/initdb" ] && [ -x "$pgbin/postgres" ] || { echo "perf: needs PostgreSQL's initdb and postgres (scripts/deps.sh installs them)" >&2; exit 2; }
	dir=$(mktemp -d)
	chmod 711 "$dir"
	pg=$dir/pg
	mkdir -p "$pg"
	as_pg=() # PostgreSQL refuses to run as root
	if [ "$(id -u)" = 0 ]; then
		u=postgres
		id postgres >/dev/null 2>&1 || u=nobody
		chown "$u" "$pg"
		as_pg=(runuser -u "$u" --)
	fi
	cpus=() others=()
	if [ -n "${PIN:-}" ]; then
		cpus=(taskset -c "$PIN")
		rest=$(awk -v pin=",$PIN," 'BEGIN{for(i=0;i<'"$(nproc)"';i++) if (index(pin, "," i ",") == 0) printf "%s%d", (n++ ? "," : ""), i}')
		[ -n "$rest" ] && others=(taskset -c "$rest")
	fi
	PGPID= I1= I2= A1= A2=
	stop_scale() {
		kill $A1 $A2 $I1 $I2 2>/dev/null || true
		wait $A1 $A2 $I1 $I2 2>/dev/null || true
		if [ -n "$PGPID" ]; then
			kill -INT "$PGPID" 2>/dev/null || true
			for _ in $(seq 100); do kill -0 "$PGPID" 2>/dev/null || break; sleep 0.1; done
		fi
		rm -rf "$dir"
	}
	trap stop_scale EXIT
	"${as_pg[@]}" "$pgbin/initdb" -D "$pg/data" -U tapsim --auth=trust -E UTF8 --no-locale >"$pg/initdb.log" 2>&1
	"${others[@]}" "${as_pg[@]}" "$pgbin/postgres" -D "$pg/data" -k "$pg" -c listen_addresses= -p 5432 >"$pg/log" 2>&1 &
	for _ in $(seq 300); do "$pgbin/pg_isready" -q -h "$pg" -p 5432 && break; sleep 0.1; done
	PGPID=$(head -n 1 "$pg/data/postmaster.pid")
	"$pgbin/createdb" -h "$pg" -p 5432 -U tapsim tapsim
	dsn="host=$pg port=5432 user=tapsim dbname=tapsim"
	sql() { "$pgbin/psql" -h "$pg" -p 5432 -U tapsim -d tapsim -Atqc "$1"; }
	pg_ticks() { # the server's processes (backends of the issuers' pools stay)
		local s=0 p
		for p in $PGPID $(pgrep -P "$PGPID"); do s=$((s + $(cpu_ticks "$p" 2>/dev/null || echo 0))); done
		echo $s
	}
	busy() { awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }
	wait_line() { for _ in $(seq 600); do grep -q "$2" "$1" 2>/dev/null && return; sleep 0.1; done; echo "perf: $1: no \"$2\"" >&2; exit 1; }

	"${cpus[@]}" "$bin" issuer --listen 127.0.0.1:18583 --data "$dir/issuer1" --db "$dsn" >"$dir/issuer1.log" 2>&1 &
	I1=$!
	wait_line "$dir/issuer1.log" listening
	"${others[@]}" "$bin" acquirer --listen 127.0.0.1:18584 --issuer 127.0.0.1:18583 --data "$dir/acq1" >"$dir/acq1.log" 2>&1 &
	A1=$!
	wait_line "$dir/acq1.log" "signed on"
	"${others[@]}" "$bin" load --acquirer 127.0.0.1:18584 --terminals "$t" --count 500 --data "$dir/load" --json >/dev/null 2>&1 # warm-up
	inst1=$(sql "SELECT instance FROM auth_log WHERE instance <> '' GROUP BY instance ORDER BY count(*) DESC LIMIT 1")
	"${cpus[@]}" "$bin" issuer --listen 127.0.0.1:18593 --data "$dir/issuer2" --db "$dsn" >"$dir/issuer2.log" 2>&1 &
	I2=$!
	wait_line "$dir/issuer2.log" listening
	"${others[@]}" "$bin" acquirer --listen 127.0.0.1:18594 --issuer 127.0.0.1:18583,127.0.0.1:18593 --data "$dir/acq2" >"$dir/acq2.log" 2>&1 &
	A2=$!
	wait_line "$dir/acq2.log" "signed on"
	"${others[@]}" "$bin" load --acquirer 127.0.0.1:18594 --terminals "$t" --count 500 --data "$dir/load" --json >/dev/null 2>&1 # warm-up
	hz=$(getconf CLK_TCK)
	echo "PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}'), $(nproc) CPUs, terminals $t, $d per run${PIN:+, issuers on CPU $PIN}"
	for r in $(seq "$rounds"); do
		for n in 1 2; do
			acq=$A1 port=18584
			[ "$n" = 2 ] && acq=$A2 port=18594
			c1=$(sql "SELECT count(*) FROM auth_log WHERE instance = '$inst1'")
			c0=$(sql "SELECT count(*) FROM auth_log")
			i10=$(cpu_ticks "$I1") i20=$(cpu_ticks "$I2") a0=$(cpu_ticks "$acq") p0=$(pg_ticks)
			read -r b0 all0 < <(busy)
			"${others[@]}" /usr/bin/time -f '%U %S' -o "$dir/load.time" "$bin" load --acquirer 127.0.0.1:$port --terminals "$t" \
				--duration "$d" --data "$dir/load" --json "$@" >"$dir/load.json" 2>/dev/null || true
			read -r b1 all1 < <(busy)
			i11=$(cpu_ticks "$I1") i21=$(cpu_ticks "$I2") a1=$(cpu_ticks "$acq") p1=$(pg_ticks)
			n1=$(($(sql "SELECT count(*) FROM auth_log WHERE instance = '$inst1'") - c1))
			n2=$(($(sql "SELECT count(*) FROM auth_log") - c0 - n1))
			read -r lu ls <"$dir/load.time"
			tx=$(jq -r .transactions <"$dir/load.json")
			echo "round $r, $n issuer process(es): $(load_line <"$dir/load.json")"
			awk -v hz="$hz" -v n1="$n1" -v n2="$n2" -v tx="$tx" -v i1="$((i11 - i10))" -v i2="$((i21 - i20))" -v a="$((a1 - a0))" \
				-v p="$((p1 - p0))" -v l="$lu $ls" -v b="$((b1 - b0))" -v all="$((all1 - all0))" -v cores="$(nproc)" 'BEGIN{
				split(l, x, " "); ms = 1000 / hz
				printf "  issuer1 %d auths %.3f ms CPU each", n1, n1 ? i1 * ms / n1 : 0
				if (n2 > 0) printf ", issuer2 %d auths %.3f ms CPU each", n2, i2 * ms / n2
				printf "; per sale: acquirer %.3f ms, load %.3f ms, postgres %.3f ms\n", a * ms / tx, (x[1] + x[2]) * 1000 / tx, p * ms / tx
				busy = all ? b / all * cores : 0
				path = all ? ((i1 + i2 + a + p) / hz + x[1] + x[2]) / (all / hz / cores) : 0
				printf "  cores used: this path %.2f (%.0f sales/s per core), the whole machine (every process) %.2f of %d\n",
					path, path ? tx / (all / hz / cores) / path : 0, busy, cores }'
		done
	done
	;;
pairs)
	other=${2:?perf pairs: give the path of the other build}
	[ -x "$other" ] || { echo "perf pairs: $other is not an executable" >&2; exit 2; }
	rounds=${3:-8}
	shift $(($# < 3 ? $# : 3))
	[ $# -gt 0 ] || set -- --terminals 32 --duration 6s
	dir=$(mktemp -d)
	trap 'rm -rf "$dir"' EXIT
	run() { # run BIN: "tx/s cpu-us-per-sale" of one embedded load run
		/usr/bin/time -f '%U %S' -o "$dir/time" "$1" load --json "${@:2}" >"$dir/load.json" 2>/dev/null || true
		read -r u s <"$dir/time"
		jq -r --arg cpu "$u $s" '"\(.throughput_tps) \(($cpu | split(" ") | map(tonumber) | add) * 1e6 / .transactions)"' <"$dir/load.json"
	}
	for r in $(seq "$rounds"); do
		read -r ot oc <<<"$(run "$other" "$@")"
		read -r tt tc <<<"$(run "$bin" "$@")"
		echo "$ot $oc $tt $tc"
	done | awk 'NF < 4 || $1 <= 0 || $3 <= 0 { printf "pair %d: a run failed\n", NR; next }
		{
		k++; tr[k] = $3 / $1; cr[k] = $4 / $2
		printf "pair %d: other %.0f tx/s %.0f us CPU/sale, this %.0f tx/s %.0f us CPU/sale: tx/s x%.3f, CPU/sale x%.3f\n", NR, $1, $2, $3, $4, tr[k], cr[k] }
		function median(a, n,   i, j, t) {
			for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
			return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2 }
		END { if (k) printf "median: tx/s x%.3f, CPU/sale x%.3f (%d pairs)\n", median(tr, k), median(cr, k), k }'
	;;
*)
	awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
	exit 2
	;;
esac
