# CPU share of each task during the latency phase, and who held the CPUs while the writer's server
# process was runnable but waiting for one. Input: OUTDIR from journal-commit-trace.sh.
import re, sys, collections
out = sys.argv[1]
B = int(open(out + '/backend.pid').read())
commits = [tuple(map(int, l.split())) for l in open(out + '/commits.txt') if l.strip()]
p0, p1 = commits[0][0], commits[-1][0] + commits[-1][1]
rx = re.compile(r'^\s*(.+?)\s+(\d+)/(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+sched:sched_switch:\s+(.*)$')
tidproc = {}
for l in open(out + '/ps.txt'):
    parts = l.split(None, 3)
    if len(parts) >= 3: tidproc[int(parts[1])] = int(parts[0])
tandem_pid = next((int(l.split()[0]) for l in open(out + '/ps.txt') if l.split()[2] == 'tandem'), None)
pidof = {}
sw = []
for line in open(out + '/perf-script.txt'):
    m = rx.match(line)
    if not m: continue
    comm, pid, tid, cpu, t, rest = m.groups()
    pidof[int(tid)] = int(pid)
    t = int(round(float(t) * 1e9))
    pm = re.search(r'prev_comm=(.*?) prev_pid=(\d+) .*prev_state=(\S+) ==> next_comm=(.*?) next_pid=(\d+)', rest)
    sw.append((t, int(cpu), pm.group(1), int(pm.group(2)), pm.group(3), pm.group(4), int(pm.group(5))))
sw.sort()
def label(tid, comm):
    if tid == B: return 'pg backend (writer)'
    if tid == 0: return 'idle'
    p = pidof.get(tid, tidproc.get(tid))
    if p == tandem_pid: return f'tandem tid {tid} ({comm})'
    if tid in tidproc: return f'pg other {tid}'
    return 'other: ' + comm
running = {}
ivs = []
for t, cpu, pc, pp, ps, nc, np_ in sw:
    if cpu in running:
        tid, comm, since = running[cpu]
        ivs.append((since, t, cpu, tid, comm))
    running[cpu] = (np_, nc, t)
tot = collections.Counter()
for s, e, cpu, tid, comm in ivs:
    a, b = max(s, p0), min(e, p1)
    if b > a: tot[label(tid, comm)] += b - a
W = (p1 - p0) * 2
print(f'phase {(p1-p0)/1e9:.2f}s; CPU share (2 CPUs = 100%)')
grp = collections.Counter()
for k, v in tot.items():
    g = 'tandem (all threads)' if k.startswith('tandem') else ('other processes' if k.startswith('other') else k)
    grp[g] += v
for k, v in grp.most_common(): print(f'  {k:40s} {100*v/W:5.1f}%')
for k, v in tot.most_common(14): print(f'    {k:40s} {100*v/W:5.1f}%')
# backend runnable-wait intervals
state = None; since = None; runq = []
for t, cpu, pc, pp, ps, nc, np_ in sw:
    if pp == B:
        state = 'runq' if ps.startswith('R') else 'sleep'; since = t
    if np_ == B:
        if state == 'runq' and p0 <= since <= p1: runq.append((since, t))
        state = 'run'
d = sorted(e - s for s, e in runq)
print(f'backend preempted {len(runq)}x in phase, total {sum(d)/1e6:.1f} ms, p50 {d[len(d)//2]/1e3:.0f} us, p99 {d[int(len(d)*.99)]/1e3:.0f} us, max {d[-1]/1e3:.0f} us')
# sweep: who ran while backend preempted
during = collections.Counter()
runq.sort(); j = 0
ivs.sort()
import bisect
starts = [iv[0] for iv in ivs]
for s, e in runq:
    k = bisect.bisect_left(starts, s - 50_000_000)
    while k < len(ivs) and ivs[k][0] < e:
        a, b, cpu, tid, comm = ivs[k]
        x, y = max(a, s), min(b, e)
        if y > x:
            l = label(tid, comm)
            during['tandem (all threads)' if l.startswith('tandem') else ('other processes' if l.startswith('other') else l)] += y - x
        k += 1
tt = sum(during.values())
print('who held the CPUs while the backend waited for one:')
for k, v in during.most_common(8): print(f'  {k:40s} {100*v/tt:5.1f}%')
