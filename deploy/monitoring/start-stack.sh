#!/usr/bin/env bash
# Starts Prometheus and Alertmanager (Debian packages `prometheus`, `prometheus-alertmanager`) on
# localhost against a running `tandem demo` (nodes' /metrics on 9471/9472) and, if it runs,
# `tandem status --serve 9470`. Data directories live in a temporary directory removed on exit.
# Ctrl-C stops what this script started. See docs/monitoring.md.
#
# Environment:
#   PROMETHEUS_PORT (9090), ALERTMANAGER_PORT (9093)
#   TANDEM_ALERT_ENV_FILE  defaults for the Alertmanager template (default deploy/alertmanager/local.env:
#                          mail and webhooks to local sinks). Set it to /dev/null to take every
#                          TANDEM_ALERT_* from the environment only (production-like).
#   SINKS=0                do not start the local sinks (webhook-sink.py on 9099, aiosmtpd on 2525)
#   KEEP=1                 keep the temporary directory (TSDB, logs, rendered config) on exit
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
prom_port="${PROMETHEUS_PORT:-9090}"
am_port="${ALERTMANAGER_PORT:-9093}"
env_file="${TANDEM_ALERT_ENV_FILE:-$repo/deploy/alertmanager/local.env}"

prometheus_bin="$(command -v prometheus || true)"
alertmanager_bin="$(command -v prometheus-alertmanager || command -v alertmanager || true)"
if [ -z "$prometheus_bin" ] || [ -z "$alertmanager_bin" ]; then
    echo "start-stack: needs prometheus and alertmanager: apt-get install prometheus prometheus-alertmanager" >&2
    exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/tandem-monitoring.XXXXXX")"
pids=()
stop() {
    trap - EXIT INT TERM
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ "${KEEP:-0}" = 1 ]; then echo "start-stack: kept $work"; else rm -rf "$work"; fi
}
trap stop EXIT
trap 'exit 0' INT TERM

# Prometheus: the shipped config with this run's ports; the rules beside it.
mkdir -p "$work/prometheus/rules" "$work/prometheus-data" "$work/alertmanager-data"
sed -e "s/127.0.0.1:9093/127.0.0.1:$am_port/" -e "s/127.0.0.1:9090/127.0.0.1:$prom_port/" \
    "$repo/deploy/prometheus/prometheus.yml" > "$work/prometheus/prometheus.yml"
cp "$repo"/deploy/prometheus/rules/*.yml "$work/prometheus/rules/"
promtool check config "$work/prometheus/prometheus.yml" >/dev/null

# Alertmanager: the template rendered from the environment (and the env file's defaults).
if [ "$env_file" = /dev/null ]; then
    "$repo/deploy/alertmanager/render-config.sh" "$repo/deploy/alertmanager/alertmanager.yml.tmpl" "$work/alertmanager.yml"
else
    "$repo/deploy/alertmanager/render-config.sh" --env-file "$env_file" "$repo/deploy/alertmanager/alertmanager.yml.tmpl" "$work/alertmanager.yml"
fi
amtool check-config "$work/alertmanager.yml" >/dev/null

if [ "${SINKS:-1}" = 1 ] && [ "$env_file" = "$repo/deploy/alertmanager/local.env" ] && command -v python3 >/dev/null; then
    python3 "$repo/deploy/monitoring/webhook-sink.py" 9099 "$work/webhooks.log" > "$work/webhook-sink.out" 2>&1 &
    pids+=($!)
    # The Debian module lives under the system python3, which a pyenv or venv python3 on PATH may not see.
    smtp_python=""
    for py in python3 /usr/bin/python3; do
        if "$py" -c 'import aiosmtpd' 2>/dev/null; then smtp_python="$py"; break; fi
    done
    if [ -n "$smtp_python" ]; then
        (cd "$work" && exec "$smtp_python" -m aiosmtpd -n -l 127.0.0.1:2525) > "$work/smtp.out" 2>&1 &
        pids+=($!)
    else
        echo "start-stack: python3-aiosmtpd not installed: alert mail to 127.0.0.1:2525 will fail (apt-get install python3-aiosmtpd)"
    fi
fi

"$alertmanager_bin" --config.file="$work/alertmanager.yml" --storage.path="$work/alertmanager-data" \
    --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= > "$work/alertmanager.log" 2>&1 &
pids+=($!)
"$prometheus_bin" --config.file="$work/prometheus/prometheus.yml" --storage.tsdb.path="$work/prometheus-data" \
    --web.listen-address="127.0.0.1:$prom_port" > "$work/prometheus.log" 2>&1 &
pids+=($!)

for _ in $(seq 1 100); do
    if curl -sf "http://127.0.0.1:$prom_port/-/ready" >/dev/null 2>&1 && curl -sf "http://127.0.0.1:$am_port/-/ready" >/dev/null 2>&1; then break; fi
    for pid in "${pids[@]}"; do
        kill -0 "$pid" 2>/dev/null || { echo "start-stack: a process exited; logs in $work:" >&2; tail -n 20 "$work"/*.log >&2; KEEP=1; exit 1; }
    done
    sleep 0.2
done

cat <<MSG
start-stack: running (Ctrl-C stops it)
  Prometheus    http://127.0.0.1:$prom_port/   (alerts: /alerts, targets: /targets)
  Alertmanager  http://127.0.0.1:$am_port/
  scraping      node-a 127.0.0.1:9471, node-b 127.0.0.1:9472 (tandem demo), status 127.0.0.1:9470 (tandem status --serve 9470)
  files         $work   (webhooks.log: what Slack/SMS would have received)
MSG
wait
