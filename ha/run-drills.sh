#!/usr/bin/env bash
# Runs every implemented `tandem drill` scenario and prints one summary line per scenario.
#
#   ha/run-drills.sh [RUNS] [extra drill options…]      e.g. ha/run-drills.sh 5 --lease-ms 1000
#
# Environment: TANDEM (the binary; default: build with `swift build -c release` and use .build/release/tandem),
# DRILL_LOGS (log directory; default .tandem/drill), DRILL_JSON (a directory to keep each scenario's JSON in;
# default .tandem/drill/json). Exit status: non-zero if any scenario failed a check.
set -u
cd "$(dirname "$0")/.."
RUNS="${1:-5}"
shift || true
if [ -z "${TANDEM:-}" ]; then
  swift build -c release --product tandem >&2 || exit 2
  TANDEM=.build/release/tandem
fi
LOGS="${DRILL_LOGS:-.tandem/drill}"
JSON="${DRILL_JSON:-.tandem/drill/json}"
mkdir -p "$JSON"
SCENARIOS="kill-leader pause-leader kill-both-restart venue-disconnect restart-postgres cut-leader-from-postgres random"
failed=0
printf '%-26s %5s %9s %9s %10s %10s %10s %9s %8s %s\n' scenario runs rto_p50 rto_max takeover50 lost_fills duplicates positions audit result
for s in $SCENARIOS; do
  out="$JSON/$s.json"
  "$TANDEM" drill "$s" --runs "$RUNS" --json --log-directory "$LOGS" "$@" > "$out" 2> "$JSON/$s.stderr"
  status=$?
  [ $status -eq 0 ] || failed=1
  python3 - "$out" "$s" "$status" <<'PY'
import json, sys
path, scenario, status = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    d = json.load(open(path))
except Exception:
    print(f"{scenario:<26} no JSON (exit {status}); see {path[:-5]}.stderr")
    sys.exit(0)
f = lambda v: "-" if v is None else str(v)
print(f"{scenario:<26} {d['runs']:>5} {f(d.get('rto_ms_p50')):>9} {f(d.get('rto_ms_max')):>9} {f(d.get('takeover_ms_p50')):>10}"
      f" {d['lost_fills']:>10} {d['duplicate_orders']:>10} {str(d['positions_match']):>9} {str(d['audit_ok']):>8}"
      f" {'PASSED' if status == 0 else 'FAILED'}  logs: {d['log_directory']}")
PY
done
exit $failed
