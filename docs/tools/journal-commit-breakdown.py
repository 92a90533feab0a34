# Each commit of the latency phase (OUTDIR/commits.txt, from the bench's --commit-log) split by what
# the writer's server process did meanwhile (OUTDIR/perf-script.txt, from journal-commit-trace.sh):
# to_server (statement sent -> the backend's recvfrom returned it), exec (-> its WAL fdatasync began),
# fdatasync, fsync_to_send, to_client (the backend's sendto -> the writer's thread had the answer); and
# for the commits over the threshold, the backend's time by scheduler state: run, runq (woken or
# preempted, not yet seen running: waiting for a busy CPU or for an idle virtual CPU to wake), disk
# (uninterruptible: the flush), sleep (split: before the statement arrived, inside the execution,
# after answering). Caveat: the trace misses many switches out of the idle task, so a task's return
# to a CPU is taken from the first event it executes; "run" can hide time not seen (e.g. steal).
import re, sys, collections, bisect
out = sys.argv[1]
thr_ms = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
B = int(open(out + '/backend.pid').read())
commits = [tuple(map(int, l.split())) for l in open(out + '/commits.txt') if l.strip()]
rx = re.compile(r'^\s*(.+?)\s+(\d+)/(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s+(.*)$')
ev = []
for line in open(out + '/perf-script.txt'):
    m = rx.match(line)
    if not m: continue
    comm, pid, tid, cpu, t, name, rest = m.groups()
    t = int(round(float(t) * 1e9))
    ev.append((t, int(pid), int(tid), int(cpu), name, rest, comm))
ev.sort()
times = [e[0] for e in ev]
pgpids = set()
for l in open(out + '/ps.txt'):
    parts = l.split(None, 3)
    if len(parts) >= 4 and 'postgres' in parts[3]: pgpids.add(int(parts[0]))
roles = {}
for l in open(out + '/ps.txt'):
    parts = l.split(None, 3)
    if len(parts) >= 4 and 'postgres:' in parts[3]: roles[int(parts[0])] = parts[3].strip()
print('backend', B, roles.get(B))
# the client writer thread: the tandem tid with the most sendto in the phase window
p0, p1 = commits[0][0], commits[-1][0] + commits[-1][1]
tandem_pid = next((int(l.split()[0]) for l in open(out + '/ps.txt') if l.split()[2] == 'tandem'), None)
cnt = collections.Counter(e[2] for e in ev if p0 <= e[0] <= p1 and e[4] == 'syscalls:sys_enter_sendto' and e[1] == tandem_pid)
W = cnt.most_common(1)[0][0] if cnt else None
print('client writer tid', W, cnt.most_common(3))

def ret(rest):
    try:
        v = int(rest.split()[-1], 16)
        return v - (1 << 64) if v >= (1 << 63) else v
    except Exception:
        return None

def window(a, b):
    i = bisect.bisect_left(times, a); j = bisect.bisect_right(times, b)
    return ev[i:j]

# per-thread on/off CPU state: scan all switches
def offcpu(tid, a, b):
    """runnable wait (preempted or woken, waiting for a CPU) and sleeping time of tid within [a,b]"""
    # find state at a: look back for last switch involving tid
    i = bisect.bisect_left(times, a)
    state = None; since = a
    k = i - 1
    while k >= 0 and a - ev[k][0] < 200_000_000:
        t, pid, ttid, cpu, name, rest, comm = ev[k]
        if name == 'sched:sched_switch':
            if f'next_pid={tid} ' in rest: state = 'run'; break
            if f'prev_pid={tid} ' in rest:
                st = re.search(r'prev_state=(\S+)', rest).group(1)
                state = 'runq' if st.startswith('R') else 'sleep'; break
        if name in ('sched:sched_wakeup',) and f'pid={tid} ' in rest:
            state = 'runq'; break
        k -= 1
    acc = collections.Counter()
    for t, pid, ttid, cpu, name, rest, comm in window(a, b):
        if ttid == tid and state != 'run' and name != 'sched:sched_switch':
            # an event the task itself executed: it runs (the switch in from an idle CPU is often
            # missing from the trace, so this is the first evidence; the gap before counts as runq)
            acc[state] += t - since; since = t; state = 'run'
        if name == 'sched:sched_switch':
            if f'prev_pid={tid} ' in rest:
                acc[state] += t - since; since = t
                st = re.search(r'prev_state=(\S+)', rest).group(1)
                state = 'runq' if st.startswith('R') else ('disk' if st.startswith('D') else 'sleep')
            elif f'next_pid={tid} ' in rest:
                acc[state] += t - since; since = t; state = 'run'
        elif name in ('sched:sched_wakeup', 'sched:sched_waking') and re.search(rf'\bpid={tid}\b', rest) and state in ('sleep', 'disk'):
            acc[state] += t - since; since = t; state = 'runq'
    acc[state] += b - since
    return acc

rows = []
slow = [c for c in commits if c[1] > thr_ms * 1e6]
allsegs = collections.defaultdict(list)
for (s, d, n) in commits:
    e = s + d
    w = window(s, e)
    recv = next((x[0] for x in w if x[2] == B and x[4] == 'syscalls:sys_exit_recvfrom' and (ret(x[5]) or 0) > 0), None)
    fsyncs = []; pw = []
    st = None
    for x in w:
        if x[2] == B and x[4] == 'syscalls:sys_enter_fdatasync': st = x[0]
        if x[2] == B and x[4] == 'syscalls:sys_exit_fdatasync' and st: fsyncs.append((st, x[0])); st = None
    st = None
    for x in w:
        if x[2] == B and x[4] == 'syscalls:sys_enter_pwrite64': st = x[0]
        if x[2] == B and x[4] == 'syscalls:sys_exit_pwrite64' and st: pw.append((st, x[0])); st = None
    send = [x[0] for x in w if x[2] == B and x[4] == 'syscalls:sys_enter_sendto']
    send = send[-1] if send else None
    other_fs = [(x[1], x[0]) for x in w if x[4] == 'syscalls:sys_enter_fdatasync' and x[2] != B]
    segs = {}
    if recv and send:
        f0 = fsyncs[0][0] if fsyncs else send
        f1 = fsyncs[-1][1] if fsyncs else send
        segs = {'to_server': recv - s, 'exec': f0 - recv, 'fdatasync': sum(b - a for a, b in fsyncs), 'pwrite': sum(b - a for a, b in pw),
                'fsync_to_send': send - f1, 'to_client': e - send}
        for k, v in segs.items(): allsegs[k].append(v)
    if d > thr_ms * 1e6:
        bo = offcpu(B, s, e); wo = offcpu(W, s, e) if W else {}
        if recv and send:
            # where the backend slept: before the statement arrived, inside the execution (neither the
            # flush nor a CPU wait: a lock, a partial message...), or after answering
            f0 = fsyncs[0][0] if fsyncs else send
            for name, a, b in (('sleep_before', s, recv), ('sleep_exec', recv, f0), ('sleep_after', send, e)):
                sub = offcpu(B, a, b)
                bo[name] = sub.get('sleep', 0)
            bo['sleep'] = bo.get('sleep', 0) - bo['sleep_before'] - bo['sleep_exec'] - bo['sleep_after']
        rows.append((s, d, n, segs, len(fsyncs), len(pw), bo, wo, other_fs))

def pct(v, p):
    v = sorted(v); return v[min(len(v) - 1, int(len(v) * p))] if v else 0
print(f'{len(commits)} commits, {len(slow)} over {thr_ms} ms')
print('segment medians/p99 over all commits (us):')
for k, v in allsegs.items(): print(f'  {k:14s} p50 {pct(v,.5)/1e3:8.0f} p90 {pct(v,.9)/1e3:8.0f} p99 {pct(v,.99)/1e3:8.0f} max {max(v)/1e3:8.0f}  n={len(v)}')
print('slow commits (us):')
for (s, d, n, segs, nf, np_, bo, wo, ofs) in rows:
    sg = ' '.join(f'{k}={v//1000}' for k, v in segs.items())
    bos = ' '.join(f'{k}={v//1000}' for k, v in bo.items() if v)
    wos = ' '.join(f'{k}={v//1000}' for k, v in wo.items() if v)
    ofs2 = ','.join(roles.get(p, str(p))[:30] for p, t in ofs)
    if len(sys.argv) > 3: print(f"{(s-p0)/1e6:8.1f}ms d={d//1000} n={n} fs={nf} pw={np_} | {sg} | backend[{bos}] writer[{wos}] | other fsyncs: {ofs2}")
tot = collections.Counter(); wtot = collections.Counter(); segt = collections.Counter()
for (s, d, n, segs, nf, np_, bo, wo, ofs) in rows:
    for k, v in bo.items(): tot[k] += v
    for k, v in segs.items(): segt[k] += v
alld = sum(r[1] for r in rows)
print(f'SLOW COMMITS: {len(rows)}, total {alld/1e6:.1f} ms; backend state share: ' + ', '.join(f'{k} {100*v/alld:.0f}%' for k, v in tot.most_common()))
print('  segments share: ' + ', '.join(f'{k} {100*v/alld:.0f}%' for k, v in segt.most_common()))
# fdatasync durations of the backend and disk (D) time: how many fdatasync > 2 ms
fd = sorted(x for x in allsegs['fdatasync'])
print(f'  backend fdatasync (wall, incl. CPU wait after I/O): p50 {pct(fd,.5)/1e3:.0f} p99 {pct(fd,.99)/1e3:.0f} us, over 2 ms: {sum(1 for x in fd if x > 2e6)}')
