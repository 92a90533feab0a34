#!/usr/bin/env bash
# shellcheck disable=SC2317 # cleanup() and the check helpers are called indirectly (trap, check)
# FIX 4.4 interop test: Tandem's FIX engine against QuickFIX 1.15 (C++).
#
#   interop/quickfix/run-interop.sh TANDEM_BINARY      (as root)
#
# Scenario A: Tandem initiator -> QuickFIX acceptor ("executor")
# Scenario B: QuickFIX initiator -> Tandem acceptor
#
# Each scenario runs in its own fresh network namespace with only `lo` up, so
# QuickFIX's acceptor (which binds every interface) is never reachable from
# outside and the fixed port cannot clash with anything.  Everything started
# here - namespaces, processes, the temp dir - is removed on exit, on failure
# and on Ctrl-C.
#
# Exit status: 0 all checks passed, 1 a check failed, 2 the environment cannot
# run the test (not root, no `ip netns`, no QuickFIX headers, bad arguments).
#
# Environment: TANDEM_FIX_INTEROP_PORT (default 9878), KEEP_WORK=1 keeps the
# temp dir, QFX_STORE=memory runs the QuickFIX peers on MemoryStore instead of
# FileStore (reproduces QuickFIX 1.15's MemoryStore resend quirk, see README).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
port="${TANDEM_FIX_INTEROP_PORT:-9878}"

die_env() {
  echo "run-interop.sh: $*" >&2
  exit 2
}

if [[ $# -ne 1 ]]; then
  echo "usage: $0 TANDEM_BINARY   (e.g. $0 .build/debug/tandem)" >&2
  exit 2
fi
tandem="$1"
[[ "$tandem" == */* ]] || tandem="./$tandem"
[[ -x "$tandem" && ! -d "$tandem" ]] || die_env "TANDEM_BINARY '$1' is not an executable file"
tandem="$(cd "$(dirname "$tandem")" && pwd)/$(basename "$tandem")"

[[ "$(id -u)" -eq 0 ]] || die_env "must run as root: it creates network namespaces (ip netns add)"
command -v ip >/dev/null 2>&1 || die_env "'ip' not found - install iproute2"
ip netns list >/dev/null 2>&1 || die_env "'ip netns' is unavailable on this system"
[[ -d /usr/include/quickfix ]] || die_env "/usr/include/quickfix is missing - install libquickfix-dev"

# ---------------------------------------------------------------- cleanup ---
work=""
namespaces=()
pids=()

cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  local pid ns left
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for ns in "${namespaces[@]}"; do
    # Anything still running inside our private namespace was started by us.
    left="$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')"
    if [[ -n "${left// /}" ]]; then
      # shellcheck disable=SC2086 # word splitting of the pid list is intended
      kill -KILL $left 2>/dev/null
    fi
    ip netns del "$ns" 2>/dev/null || echo "run-interop.sh: could not delete netns $ns" >&2
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  if [[ -n "$work" && -d "$work" ]]; then
    if [[ "${KEEP_WORK:-0}" == 1 ]]; then
      echo "run-interop.sh: kept $work" >&2
    else
      rm -rf "$work"
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "run-interop.sh: interrupted" >&2; exit 130' INT TERM HUP

work="$(mktemp -d /tmp/tandem-fix-interop.XXXXXX)" || die_env "mktemp failed"

# ------------------------------------------------------------------ build ---
echo "== building QuickFIX peers"
"$here/build.sh" "$work/bin"
build_rc=$?
if [[ $build_rc -ne 0 ]]; then
  echo "run-interop.sh: build.sh failed ($build_rc)" >&2
  exit 2
fi

# ---------------------------------------------------------------- helpers ---
new_ns() {  # sets $ns to a fresh namespace with only lo up (not in a subshell!)
  ns="tandem-fix-$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')"
  ip netns add "$ns" || return 1
  namespaces+=("$ns")
  ip netns exec "$ns" ip link set lo up || return 1
}

# render TEMPLATE OUT STOREDIR
render_cfg() {
  sed -e "s#@PORT@#$port#g" -e "s#@STORE@#$3#g" "$1" |
    if [[ "${QFX_STORE:-file}" == memory ]]; then grep -v '^FileStorePath='; else cat; fi >"$2"
}

# wait_listen NS PID SECONDS: 0 once something listens on $port inside NS
wait_listen() {
  local ns=$1 pid=$2 tries=$(($3 * 10))
  while ((tries-- > 0)); do
    kill -0 "$pid" 2>/dev/null || return 1
    if command -v ss >/dev/null 2>&1; then
      # ss does not connect, so the server never sees a stray connection
      [[ -n "$(ip netns exec "$ns" ss -Hltn "sport = :$port" 2>/dev/null)" ]] && return 0
    else
      ip netns exec "$ns" bash -c "echo > /dev/tcp/127.0.0.1/$port" 2>/dev/null && return 0
    fi
    sleep 0.1
  done
  return 1
}

# wait_exit PID SECONDS: exit status of PID, or 124 after killing it at the deadline
wait_exit() {
  local pid=$1 tries=$(($2 * 10))
  while ((tries-- > 0)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid"
      return $?
    fi
    sleep 0.1
  done
  echo "   pid $pid still running after ${2}s - killed (reported as exit 124)"
  kill -TERM "$pid" 2>/dev/null
  sleep 0.5
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 124
}

dump() {  # dump LABEL FILE
  [[ -s "$2" ]] || { echo "[$1] (no output)"; return; }
  sed "s/^/[$1] /" "$2"
}

passed=0
failed=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then
    echo "PASS  $what"
    passed=$((passed + 1))
  else
    echo "FAIL  $what"
    failed=$((failed + 1))
  fi
}
count() { grep -c -E -- "$1" "$2" 2>/dev/null; }  # count REGEX FILE (prints 0 if none)
has() { grep -q -E -- "$1" "$2" 2>/dev/null; }
eq() { [[ "$1" == "$2" ]]; }

# ------------------------------------------------------------- scenario A ---
scenario_a() {
  local d="$work/A" ns ex_pid tn_pid ex_rc tn_rc
  mkdir -p "$d"
  echo
  echo "== scenario A: Tandem initiator -> QuickFIX executor (acceptor)"
  new_ns || die_env "cannot create a network namespace (ip netns add)"
  echo "   netns $ns, port $port"
  render_cfg "$here/executor.cfg.in" "$d/executor.cfg" "$d/store"

  ip netns exec "$ns" "$work/bin/executor" "$d/executor.cfg" 40 >"$d/executor.out" 2>"$d/executor.err" &
  ex_pid=$!
  pids+=("$ex_pid")
  if wait_listen "$ns" "$ex_pid" 10; then
    ip netns exec "$ns" timeout -k 5 60 "$tandem" fix initiator \
      --host 127.0.0.1 --port "$port" \
      --sender-comp-id TANDEM --target-comp-id QFX --heartbeat 5 \
      --orders 5 --drop-outbound 3 --gap-order 4 --timeout 20 \
      >"$d/tandem.out" 2>"$d/tandem.err" &
    tn_pid=$!
    pids+=("$tn_pid")
    wait "$tn_pid"
    tn_rc=$?
  else
    echo "   executor is not listening on $port - tandem initiator not started"
    tn_rc="not-run"
    : >"$d/tandem.out"
    : >"$d/tandem.err"
  fi
  # the executor exits 1 s after our Logout; don't wait for its own timeout
  wait_exit "$ex_pid" 8
  ex_rc=$?

  dump "A tandem-initiator" "$d/tandem.out"
  dump "A tandem-initiator stderr" "$d/tandem.err"
  dump "A qfx-executor" "$d/executor.out"
  dump "A qfx-executor log" "$d/executor.err"
  echo "-- scenario A checks (tandem exit $tn_rc, executor exit $ex_rc)"

  local x="$d/executor.out" orders dups ids
  orders=$(count '^QFX ORDER ' "$x")
  dups=$(count '^QFX ORDER .*possDup=Y' "$x")
  ids=$(grep -E '^QFX ORDER ' "$x" 2>/dev/null | sed -E 's/.*clOrdID=([^ ]*).*/\1/' | sort -u | wc -l)
  check "A: tandem initiator exit code 0 (got $tn_rc)" eq "$tn_rc" 0
  check "A: tandem initiator reported \"result\":\"ok\"" \
    has '"result"[[:space:]]*:[[:space:]]*"ok"' "$d/tandem.out"
  check "A: executor logged on (QFX LOGON)" has '^QFX LOGON ' "$x"
  check "A: executor got 5 orders (got $orders)" eq "$orders" 5
  check "A: the 5 orders have distinct ClOrdIDs (got $ids)" eq "$ids" 5
  check "A: exactly one order arrived with possDup=Y (got $dups)" eq "$dups" 1
  check "A: QuickFIX asked Tandem to resend (QFX SENT_RESEND_REQUEST)" \
    has '^QFX SENT_RESEND_REQUEST ' "$x"
  check "A: Tandem asked QuickFIX to resend after the GAP skip (QFX RESEND_REQUEST)" \
    has '^QFX RESEND_REQUEST ' "$x"
  check "A: QuickFIX sent no session Reject (35=3)" eq "$(count '^QFX SENT_REJECT ' "$x")" 0
  check "A: QuickFIX sent no BusinessMessageReject (35=j)" \
    eq "$(count '^QFX SENT_BUSINESS_REJECT ' "$x")" 0
  check "A: executor saw the logout (QFX LOGOUT)" has '^QFX LOGOUT ' "$x"
  check "A: executor exit code 0 (got $ex_rc)" eq "$ex_rc" 0
}

# ------------------------------------------------------------- scenario B ---
scenario_b() {
  local d="$work/B" ns tn_pid in_pid tn_rc in_rc
  mkdir -p "$d"
  echo
  echo "== scenario B: QuickFIX initiator -> Tandem acceptor"
  new_ns || die_env "cannot create a network namespace (ip netns add)"
  echo "   netns $ns, port $port"
  render_cfg "$here/initiator.cfg.in" "$d/initiator.cfg" "$d/store"

  ip netns exec "$ns" timeout -k 5 60 "$tandem" fix acceptor \
    --port "$port" --sender-comp-id TANDEM --target-comp-id QFXI \
    --drop-outbound 2 --exit-after-logout --timeout 30 \
    >"$d/tandem.out" 2>"$d/tandem.err" &
  tn_pid=$!
  pids+=("$tn_pid")
  if wait_listen "$ns" "$tn_pid" 15; then
    ip netns exec "$ns" "$work/bin/initiator" "$d/initiator.cfg" 30 \
      >"$d/initiator.out" 2>"$d/initiator.err" &
    in_pid=$!
    pids+=("$in_pid")
    wait "$in_pid"
    in_rc=$?
  else
    echo "   tandem acceptor is not listening on $port - QuickFIX initiator not started"
    in_rc="not-run"
    : >"$d/initiator.out"
    : >"$d/initiator.err"
  fi
  wait_exit "$tn_pid" 8
  tn_rc=$?

  dump "B qfx-initiator" "$d/initiator.out"
  dump "B qfx-initiator log" "$d/initiator.err"
  dump "B tandem-acceptor" "$d/tandem.out"
  dump "B tandem-acceptor stderr" "$d/tandem.err"
  echo "-- scenario B checks (initiator exit $in_rc, tandem exit $tn_rc)"

  local x="$d/initiator.out"
  check "B: QuickFIX initiator exit code 0 (got $in_rc)" eq "$in_rc" 0
  check "B: initiator logged on (QFXI LOGON)" has '^QFXI LOGON' "$x"
  check "B: QFXI DONE execs=5" has '^QFXI DONE execs=5 ' "$x"
  check "B: at least one ExecutionReport arrived with possDup=Y" \
    has '^QFXI EXEC .*possDup=Y' "$x"
  check "B: QuickFIX asked Tandem to resend (QFXI SENT_RESEND_REQUEST)" \
    has '^QFXI SENT_RESEND_REQUEST ' "$x"
  check "B: Tandem asked QuickFIX to resend after its skip (QFXI RESEND_REQUEST)" \
    has '^QFXI RESEND_REQUEST ' "$x"
  check "B: QuickFIX sent no session Reject (35=3)" eq "$(count '^QFXI SENT_REJECT ' "$x")" 0
  check "B: QuickFIX sent no BusinessMessageReject (35=j)" \
    eq "$(count '^QFXI SENT_BUSINESS_REJECT ' "$x")" 0
  check "B: initiator saw the logout (QFXI LOGOUT)" has '^QFXI LOGOUT$' "$x"
  check "B: tandem acceptor exit code 0 (got $tn_rc)" eq "$tn_rc" 0
}

scenario_a
scenario_b

echo
if ((failed == 0)); then
  echo "== interop: PASS ($passed checks)"
  exit 0
fi
echo "== interop: FAIL ($failed of $((passed + failed)) checks failed)"
exit 1
