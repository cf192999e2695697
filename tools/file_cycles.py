#!/usr/bin/env python3
# Files that call each other: the call graph between the object files given
# (A -> B when A uses a symbol B defines), each strongly connected component
# of more than one file printed with the symbols on its edges. Exit 1 when
# there is one. Usage: tools/file_cycles.py build/scanner/libfwgate_scanner.a.p/*.o
import subprocess, sys, collections
objs = sys.argv[1:]
defs = {}; uses = collections.defaultdict(set)
for o in objs:
    out = subprocess.run(['nm', o], capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in 'TDRB':
            defs[parts[2]] = o
        elif len(parts) == 2 and parts[0] == 'U':
            uses[o].add(parts[1])
g = collections.defaultdict(set)
for o in objs:
    for s in uses[o]:
        d = defs.get(s)
        if d and d != o:
            g[o].add(d)
# Tarjan
idx = {}; low = {}; st = []; on = set(); sccs = []; c = [0]
def sc(v):
    idx[v] = low[v] = c[0]; c[0] += 1; st.append(v); on.add(v)
    for w in g[v]:
        if w not in idx: sc(w); low[v] = min(low[v], low[w])
        elif w in on: low[v] = min(low[v], idx[w])
    if low[v] == idx[v]:
        comp = []
        while True:
            w = st.pop(); on.discard(w); comp.append(w)
            if w == v: break
        sccs.append(comp)
sys.setrecursionlimit(10000)
for o in objs:
    if o not in idx: sc(o)
import os
n = lambda p: os.path.basename(p).replace('.c.o', '')
bad = [s for s in sccs if len(s) > 1]
for s in bad:
    print('CYCLE:', ' '.join(sorted(n(x) for x in s)))
    for a in s:
        for b in g[a]:
            if b in s:
                syms = sorted(x for x in uses[a] if defs.get(x) == b)
                print('   %s -> %s: %s' % (n(a), n(b), ' '.join(syms)))
if os.environ.get('CYCLES_VERBOSE'):
    for a in sorted(g): print(n(a), '->', ' '.join(sorted(n(b) for b in g[a])))
print('%d cycles' % len(bad))
sys.exit(1 if bad else 0)
