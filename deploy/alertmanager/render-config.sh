#!/usr/bin/env bash
# Renders the Alertmanager template with values from the environment (Alertmanager itself does not
# expand variables). Usage:
#   render-config.sh [--env-file FILE] [TEMPLATE [OUTPUT]]
# TEMPLATE defaults to alertmanager.yml.tmpl beside this script, OUTPUT to standard output.
# --env-file loads defaults first (KEY=VALUE lines); variables already in the environment win.
# Fails, naming each one, if a placeholder of the template is unset (an empty value is allowed: SMTP
# without auth). Values are placed inside single-quoted YAML strings, so a ' in one is doubled.
# The output is written with umask 077: it holds credentials.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
env_file=""
if [ "${1:-}" = "--env-file" ]; then env_file="$2"; shift 2; fi
template="${1:-$here/alertmanager.yml.tmpl}"
output="${2:-}"

if [ -n "$env_file" ]; then
    while IFS= read -r kv || [ -n "$kv" ]; do
        case "$kv" in ''|'#'*) continue ;; esac
        key="${kv%%=*}"
        [ -z "${!key+set}" ] && export "$key=${kv#*=}"
    done < "$env_file"
fi

missing=()
rendered=""
while IFS= read -r line || [ -n "$line" ]; do
    rest="$line"
    out=""
    while [[ "$rest" =~ ^([^$]*)\$\{([A-Za-z_][A-Za-z0-9_]*)\}(.*)$ ]]; do
        name="${BASH_REMATCH[2]}"
        out+="${BASH_REMATCH[1]}"
        rest="${BASH_REMATCH[3]}"
        if [ -z "${!name+set}" ]; then
            missing+=("$name")
        else
            value="${!name}"
            out+="${value//\'/\'\'}"
        fi
    done
    rendered+="$out$rest"$'\n'
done < "$template"

if [ ${#missing[@]} -gt 0 ]; then
    echo "render-config.sh: set these environment variables (see docs/monitoring.md): $(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')" >&2
    exit 2
fi
if [ -n "$output" ]; then
    (umask 077 && printf '%s' "$rendered" > "$output")
else
    printf '%s' "$rendered"
fi
