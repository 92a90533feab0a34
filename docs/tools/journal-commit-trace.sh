#!/bin/bash
# Runs `tandem bench journal` through its latency phase under a system-wide `perf record` (scheduler
# switches and wake-ups, the WAL's syscalls, block requests), on CLOCK_MONOTONIC like the bench's
# --commit-log, so each commit the writer saw can be lined up with what its server process did.
# Then: journal-commit-breakdown.py OUTDIR [threshold_ms] [v]  and  journal-cpu-share.py OUTDIR.
# usage (as root, from the package root, release build): docs/tools/journal-commit-trace.sh OUTDIR [extra bench args...]
out=$1; shift
mkdir -p $out; rm -f $out/*
.build/release/tandem bench journal --json --through-latency --commit-log $out/commits.txt --server-log $out/server.log "$@" > $out/result.json 2> $out/stderr.txt &
bp=$!
while ! grep -q "writer backend pid" $out/stderr.txt 2>/dev/null; do sleep 0.05; kill -0 $bp 2>/dev/null || exit 1; done
pid=$(grep -o "writer backend pid [0-9]*" $out/stderr.txt | awk '{print $4}')
echo $pid > $out/backend.pid; ps -eLo pid,tid,comm,args | grep -E "postgres|tandem" > $out/ps.txt
grep '^cpu ' /proc/stat > $out/stat-before.txt  # steal is the 8th number
perf record -q -a -k monotonic -o /dev/shm/journal-trace.data \
  -e sched:sched_switch -e sched:sched_wakeup -e sched:sched_waking \
  -e syscalls:sys_enter_fdatasync -e syscalls:sys_exit_fdatasync \
  -e syscalls:sys_enter_pwrite64 -e syscalls:sys_exit_pwrite64 \
  -e syscalls:sys_enter_sendto -e syscalls:sys_exit_sendto \
  -e syscalls:sys_enter_recvfrom -e syscalls:sys_exit_recvfrom \
  -e syscalls:sys_enter_epoll_wait -e syscalls:sys_exit_epoll_wait \
  -e syscalls:sys_enter_poll -e syscalls:sys_exit_poll \
  -e syscalls:sys_enter_openat -e syscalls:sys_exit_openat \
  -e syscalls:sys_enter_fallocate -e syscalls:sys_exit_fallocate \
  -e block:block_rq_issue -e block:block_rq_complete \
  -- sleep 10 2> $out/perf.err
grep '^cpu ' /proc/stat > $out/stat-after.txt
wait $bp
perf script -i /dev/shm/journal-trace.data --ns -F comm,pid,tid,cpu,time,event,trace > $out/perf-script.txt 2>/dev/null
echo done
