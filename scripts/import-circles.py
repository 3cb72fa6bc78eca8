# scripts/import-circles.py: import circles between sibling modules inside each crate
# (a module that uses another that uses it back, directly or round a longer loop).
# Run from the repository root: python3 scripts/import-circles.py
# Import circles between sibling modules inside each crate.
import os, re, sys, itertools
root = sys.argv[1] if len(sys.argv) > 1 else 'crates'
def modpath(crate_src, f):
    rel = os.path.relpath(f, crate_src)[:-3].split(os.sep)
    if rel[-1] in ('mod', 'lib', 'main'): rel = rel[:-1]
    return rel
found = 0
for crate in sorted(os.listdir(root)):
    src = os.path.join(root, crate, 'src')
    if not os.path.isdir(src): continue
    files = [os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs if f.endswith('.rs')]
    mods = {tuple(modpath(src, f)): f for f in files}
    edges = set()
    for m, f in mods.items():
        text = open(f).read()
        text = text.split('#[cfg(test)]')[0]
        text = re.sub(r'//[^\n]*', '', text)
        refs = set()
        for r in re.findall(r'crate::((?:[a-z_][a-z0-9_]*::)*[a-z_][a-z0-9_]*)', text):
            refs.add(tuple(r.split('::')))
        for r in re.findall(r'\bsuper::((?:[a-z_][a-z0-9_]*::)*[a-z_][a-z0-9_]*)', text):
            base = list(m[:-1]) if not f.endswith('mod.rs') else list(m[:-1])
            refs.add(tuple(base + r.split('::')))
        for r in refs:
            # longest existing module prefix
            for k in range(len(r), 0, -1):
                if r[:k] in mods:
                    t = r[:k]; break
            else: continue
            # common parent, siblings under it
            i = 0
            while i < min(len(m), len(t)) and m[i] == t[i]: i += 1
            if i >= len(m) or i >= len(t): continue  # ancestor/descendant
            edges.add((m[:i+1], t[:i+1]))
    nodes = {x for e in edges for x in e}
    adj = {n: [b for a, b in edges if a == n] for n in nodes}
    def reach(s):
        seen, st = set(), [s]
        while st:
            for y in adj[st.pop()]:
                if y not in seen: seen.add(y); st.append(y)
        return seen
    r = {n: reach(n) for n in nodes}
    done = set()
    for n in sorted(nodes):
        if n in r[n] and n not in done:
            comp = sorted(m for m in nodes if m in r[n] and n in r[m])
            done.update(comp); found += 1
            print(f"{crate}: circle " + ", ".join('::'.join(c) for c in comp))
print(f"{found} import circles")
