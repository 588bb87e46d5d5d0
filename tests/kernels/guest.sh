#!/bin/sh
# guest.sh - portwatchd's checks inside a qemu guest (busybox sh), run by the
# initramfs's /init that tests/kernels/run.sh builds. Prints one line
# "PASS name" or "FAIL name: why" per check, then "N passed, M failed", and
# writes that last line to /run/result. Every wait is bounded.
#
# Ports: 7001 tcp listener and 7002 udp bound before the daemon starts (b),
# 7003 shadow_wildcard (c), 7004 takeover (d), 7005/7006 refused bind,
# check and release (e, f, g).

SOCK=/run/pw.sock
LOG=/run/portwatchd.log
OUT=/run/out # sockop outputs
CTL="portwatchctl --socket $SOCK"
START_WAIT=${PW_START_WAIT:-90} # seconds for the daemon to answer (TCG is slow)
WAIT=${PW_WAIT:-30}             # seconds for any other condition

npass=0
nfail=0
failed_names=""
mkdir -p "$OUT"

pass() {
	echo "PASS $1"
	npass=$((npass + 1))
}

fail() {
	echo "FAIL $1: $2"
	nfail=$((nfail + 1))
	failed_names="$failed_names $1"
}

# until_ok SECONDS CMD...: run CMD every second until it succeeds or
# SECONDS have passed; status of the last try.
until_ok() {
	_limit=$1
	shift
	_t=0
	while :; do
		"$@" && return 0
		[ "$_t" -ge "$_limit" ] && return 1
		sleep 1
		_t=$((_t + 1))
	done
}

# bg_sockop NAME ARGS...: start "sockop ARGS" in the background with its
# output in $OUT/NAME and its pid in $OUT/NAME.pid; waits (bounded) for its
# "ok"/"err" line and returns 0 when it says ok.
bg_sockop() {
	_name=$1
	shift
	: >"$OUT/$_name"
	sockop "$@" >"$OUT/$_name" 2>"$OUT/$_name.err" &
	echo $! >"$OUT/$_name.pid"
	until_ok "$WAIT" grep -q '^\(ok\|err\)' "$OUT/$_name"
	grep -q '^ok' "$OUT/$_name"
}

pid_of() { cat "$OUT/$1.pid"; }
said() { cat "$OUT/$1" "$OUT/$1.err" 2>/dev/null | tr '\n' ' '; }

# json_items: the members of the outermost JSON array of portwatchctl's
# --json output (pretty-printed; the array itself, or the first one in an
# object), one per line with the newlines of the pretty print removed.
# Quotes and backslash escapes are honoured, so brackets inside strings do
# not count.
json_items() {
	tr -d '\n' | awk '
	{
		n = length($0); depth = 0; base = 0; instr = 0; esc = 0; item = ""
		for (i = 1; i <= n; i++) {
			c = substr($0, i, 1)
			if (base && depth >= base) item = item c
			if (instr) {
				if (esc) esc = 0
				else if (c == "\\") esc = 1
				else if (c == "\"") instr = 0
				continue
			}
			if (c == "\"") instr = 1
			else if (c == "{" || c == "[") {
				depth++
				if (!base && c == "[") base = depth
			} else if (c == "}" || c == "]") {
				depth--
				if (base && depth == base - 1) {
					sub(/[]}]$/, "", item)
					if (item ~ /[^ ,]/) print item
					exit
				}
			} else if (c == "," && base && depth == base) {
				sub(/,$/, "", item)
				if (item ~ /[^ ]/) print item
				item = ""
			}
		}
	}'
}

# has_item CMD PATTERN...: some array member of "portwatchctl --json CMD"
# matches every (extended regular expression) PATTERN.
has_item() {
	_cmd=$1
	shift
	$CTL --json "$_cmd" >/run/items.json 2>/run/items.err || return 1
	json_items </run/items.json >/run/items.txt
	for _p in "$@"; do
		grep -E -e "$_p" /run/items.txt >/run/items.tmp || return 1
		mv /run/items.tmp /run/items.txt
	done
	return 0
}

# owners_lists PORT PID: "owners PORT" answers and has a row of PID.
owners_lists() {
	$CTL owners "$1" >/run/owners.txt 2>&1 || return 1
	grep -q -E "(^| )$2/" /run/owners.txt
}

# owners_lacks PORT PID: "owners PORT" answers and has no row of PID.
owners_lacks() {
	$CTL owners "$1" >/run/owners.txt 2>&1 || return 1
	! grep -q -E "(^| )$2/" /run/owners.txt
}

echo "guest: kernel $(uname -r), $(nproc) cpus"
for f in /sys/kernel/btf/vmlinux /sys/kernel/tracing/events/syscalls /sys/fs/cgroup/cgroup.controllers; do
	[ -e "$f" ] || echo "guest: warning: $f is missing"
done

# (b) first: sockets that exist before the daemon starts.
pre_ok=1
bg_sockop pre_tcp -u 1000 -t tcp -l 127.0.0.1 7001 -s 600 || pre_ok=0
bg_sockop pre_udp -u 1000 -t udp 0.0.0.0 7002 -s 600 || pre_ok=0

# (a) the daemon starts and answers.
echo "guest: starting portwatchd"
t0=$(date +%s)
portwatchd --foreground --socket "$SOCK" >"$LOG" 2>&1 &
pwpid=$!
up=0
i=0
while [ "$i" -lt "$START_WAIT" ]; do
	if $CTL stats >/dev/null 2>&1; then
		up=1
		break
	fi
	kill -0 "$pwpid" 2>/dev/null || break # it exited: no use waiting
	sleep 1
	i=$((i + 1))
done
echo "guest: portwatchd answered: $up after $(($(date +%s) - t0)) s"

if [ "$up" = 1 ]; then
	$CTL --json stats >/run/stats.json 2>&1
	hooks=$(tr -d '\n' </run/stats.json | grep -o '"hooks": *\[[^]]*\]')
	echo "guest: stats --json:"
	cat /run/stats.json
	if echo "$hooks" | grep -q '"[a-z_]*/'; then
		echo "guest: $hooks"
		pass daemon_start
	else
		fail daemon_start "stats --json lists no hooks"
	fi
else
	if kill -0 "$pwpid" 2>/dev/null; then
		fail daemon_start "portwatchctl stats got no answer in $START_WAIT s"
	else
		wait "$pwpid"
		fail daemon_start "portwatchd exited with status $? before answering"
	fi
fi

if [ "$up" != 1 ]; then
	# Nothing else can be checked without the daemon: each counts as failed.
	for name in snapshot_tcp_listener snapshot_udp shadow_wildcard takeover refused_bind \
		why_conflict check_prediction release; do
		fail "$name" "portwatchd is not running"
	done
else
	# (b) the sockets bound before the start are in the table.
	if [ "$pre_ok" != 1 ]; then
		fail snapshot_tcp_listener "sockop said: $(said pre_tcp)"
		fail snapshot_udp "sockop said: $(said pre_udp)"
	else
		if until_ok "$WAIT" owners_lists 7001 "$(pid_of pre_tcp)"; then
			pass snapshot_tcp_listener
		else
			fail snapshot_tcp_listener "owners 7001 lacks pid $(pid_of pre_tcp): $(cat /run/owners.txt)"
		fi
		if until_ok "$WAIT" owners_lists 7002 "$(pid_of pre_udp)"; then
			pass snapshot_udp
		else
			fail snapshot_udp "owners 7002 lacks pid $(pid_of pre_udp): $(cat /run/owners.txt)"
		fi
	fi

	# (c) shadow_wildcard: uid 1001 binds 127.0.0.1 under uid 1000's wildcard.
	if ! bg_sockop sw_wild -u 1000 -t udp -a 0.0.0.0 7003 -s 600; then
		fail shadow_wildcard "uid 1000 bind of 0.0.0.0:7003: $(said sw_wild)"
	elif ! bg_sockop sw_spec -u 1001 -t udp -a 127.0.0.1 7003 -s 600; then
		fail shadow_wildcard "uid 1001 bind of 127.0.0.1:7003: $(said sw_spec)"
	elif until_ok "$WAIT" has_item alerts '"kind": *"hijack_attempt"' \
		'"reason": *"shadow_wildcard"' '"port": *7003[,} ]'; then
		pass shadow_wildcard
	else
		fail shadow_wildcard "no hijack_attempt/shadow_wildcard alert on 7003: $(tr -d '\n' </run/items.json)"
	fi

	# (d) takeover: uid 1000's listener goes away, uid 1001 binds its address.
	if ! bg_sockop to_old -u 1000 -t tcp -l 127.0.0.1 7004 -s 600; then
		fail takeover "uid 1000 listen on 127.0.0.1:7004: $(said to_old)"
	elif ! until_ok "$WAIT" owners_lists 7004 "$(pid_of to_old)"; then
		fail takeover "the listener never showed in owners 7004: $(cat /run/owners.txt)"
	else
		kill "$(pid_of to_old)"
		wait "$(pid_of to_old)" 2>/dev/null # reaped: its socket is closed
		if ! bg_sockop to_new -u 1001 -t tcp 127.0.0.1 7004 -s 600; then
			fail takeover "uid 1001 bind of 127.0.0.1:7004: $(said to_new)"
		elif until_ok "$WAIT" has_item alerts '"reason": *"takeover"' '"port": *7004[,} ]'; then
			pass takeover
		else
			fail takeover "no takeover alert on 7004: $(tr -d '\n' </run/items.json)"
		fi
	fi

	# (e) a refused bind: uid 1001's 127.0.0.1:7005 under uid 1000's wildcard listener.
	holder_ok=0
	if ! bg_sockop rb_hold -u 1000 -t tcp -l 0.0.0.0 7005 -s 600; then
		fail refused_bind "uid 1000 listen on 0.0.0.0:7005: $(said rb_hold)"
		fail why_conflict "no listener to conflict with"
	else
		holder_ok=1
		hpid=$(pid_of rb_hold)
		sockop -u 1001 -t tcp 127.0.0.1 7005 >"$OUT/rb_try" 2>&1
		if grep -q '^err EADDRINUSE' "$OUT/rb_try"; then
			pass refused_bind
		else
			fail refused_bind "expected err EADDRINUSE, sockop said: $(tr '\n' ' ' <"$OUT/rb_try")"
		fi
		why_names_pid() {
			$CTL why 7005 >/run/why.txt 2>&1 && grep -q -E "pid $hpid([^0-9]|\$)" /run/why.txt
		}
		conflict_listed() {
			has_item conflicts '"rule": *"wildcard_listener"' '"port": *7005[,} ]'
		}
		why_or_conflict() { why_names_pid || conflict_listed; }
		if until_ok "$WAIT" why_or_conflict; then
			why_names_pid && echo "guest: why 7005 names pid $hpid:" && cat /run/why.txt
			conflict_listed && echo "guest: conflicts lists 7005 with rule wildcard_listener"
			pass why_conflict
		else
			fail why_conflict "why 7005 does not name pid $hpid ($(tr '\n' ' ' </run/why.txt)) and conflicts has no wildcard_listener on 7005 ($(tr -d '\n' </run/items.json))"
		fi
	fi

	# (f) check: 127.0.0.1:7005 would fail, 127.0.0.1:7006 would not.
	if [ "$holder_ok" != 1 ]; then
		fail check_prediction "no listener on 7005"
	else
		$CTL check tcp 127.0.0.1:7005 >/run/check1.txt 2>&1
		rc1=$?
		$CTL check tcp 127.0.0.1:7006 >/run/check2.txt 2>&1
		rc2=$?
		if [ "$rc1" = 1 ] && [ "$rc2" = 0 ]; then
			pass check_prediction
		else
			fail check_prediction "check 127.0.0.1:7005 exit $rc1 (want 1): $(tr '\n' ' ' </run/check1.txt); check 127.0.0.1:7006 exit $rc2 (want 0): $(tr '\n' ' ' </run/check2.txt)"
		fi
	fi

	# (g) release: the listener of (e) is killed and leaves the table.
	if [ "$holder_ok" != 1 ]; then
		fail release "no listener on 7005"
	else
		kill "$hpid"
		wait "$hpid" 2>/dev/null
		if until_ok "$WAIT" owners_lacks 7005 "$hpid"; then
			pass release
		else
			fail release "owners 7005 still lists pid $hpid after $WAIT s: $(cat /run/owners.txt)"
		fi
	fi
fi

# The daemon's log: whole when something failed, its end otherwise.
if [ "$nfail" -gt 0 ]; then
	echo "guest: failed:$failed_names"
	echo "guest: ---- portwatchd log ($LOG) ----"
	cat "$LOG"
else
	echo "guest: ---- portwatchd log, last 15 lines ----"
	tail -n 15 "$LOG"
fi
echo "guest: ---- end of log ----"

kill "$pwpid" 2>/dev/null
for f in "$OUT"/*.pid; do
	[ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null
done

echo "$npass passed, $nfail failed" | tee /run/result
[ "$nfail" -eq 0 ]
