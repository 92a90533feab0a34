#!/bin/bash
# Usage: docs/tools/journal-pinned-bench.sh ERRFILE BINARY [bench args...]
# Experiment (docs/journal.md, "Client CPU per append"): not a default, and it did not help on 2 vCPUs.
# Runs `BINARY bench journal ARGS` on CPU 1; when it names the latency phase's backend, moves the
# embedded PostgreSQL (the postmaster and all its processes, the writer's backend included; backends
# forked later inherit it) to CPU 0. Stdout is the bench's; its stderr goes to ERRFILE.
E=$1; B=$2; shift 2
: > "$E"
taskset -c 1 "$B" bench journal "$@" 2> "$E" &
P=$!
while ! grep -q 'writer backend pid' "$E" 2>/dev/null; do kill -0 $P 2>/dev/null || break; sleep 0.02; done
be=$(grep -o 'writer backend pid [0-9]*' "$E" | awk '{print $4}')
pm=$(ps -o ppid= -p "$be" | tr -d ' ')
taskset -a -p -c 0 "$pm" > /dev/null
for c in $(pgrep -P "$pm"); do taskset -a -p -c 0 "$c" > /dev/null; done
echo "pinned: postmaster $pm and $(pgrep -P "$pm" | wc -l) processes to CPU 0 (writer backend $be: $(taskset -p $be | awk '{print $NF}')); bench $P on CPU $(taskset -p $P | awk '{print $NF}')" >> "$E.pin"
wait $P
