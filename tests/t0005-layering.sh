#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t0005 — the layers only look down (README "Layout"): no include circles and no call-backs
# between source files; src/cmd is above everything, src/shared below src/lib; only the journal
# talks SQL (sqlite3.h; main.c for --version's sqlite3_libversion(); pve-vms.c to pmxcfs's config.db, read-only) and only rootfs.c opens paths under --root (openat2).
#
# A header's implementation is the .c files that define a function or variable it declares.
# File A uses file B when A includes (directly or through headers) a header that B implements
# and A names one of the things B defines there. A circle is A using B while B uses A, or A.c
# including B.h while B.c includes A.h.
# Declarations in a module's own *-internal.h are one module split over files (as libkmod's
# libkmod-internal.h) and do not count. Usage: t0005-layering.sh [SOURCE-TREE] (default $SRCDIR).
. "$(dirname "$0")/test-lib.sh"

tree=${1:-$SRCDIR}

"$PYTHON" - "$tree" >"$TEST_TMP/report" <<'EOF'
import os, re, sys

root = sys.argv[1]
src = os.path.join(root, 'src')
files = {}
for d, _, names in os.walk(src):
    for n in names:
        if n.endswith(('.c', '.h')):
            p = os.path.join(d, n)
            files[os.path.relpath(p, root)] = open(p, encoding='utf-8', errors='replace').read()

def strip(text):
    text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
    text = re.sub(r'//[^\n]*', ' ', text)
    text = re.sub(r'"(\\.|[^"\\\n])*"', '""', text)
    text = re.sub(r"'(\\.|[^'\\\n])*'", "''", text)
    return re.sub(r'^[ \t]*#[^\n]*(\\\n[^\n]*)*', ' ', text, flags=re.M)

code = {f: strip(t) for f, t in files.items()}

def includes(f):
    return re.findall(r'^[ \t]*#[ \t]*include[ \t]+"([^"]+)"', files[f], flags=re.M)

# Headers by name: "x.h" is looked for beside the includer, then in every folder of src/.
by_base = {}
for f in files:
    if f.endswith('.h'):
        by_base.setdefault(os.path.basename(f), []).append(f)

def resolve(f, inc):
    here = os.path.normpath(os.path.join(os.path.dirname(f), inc))
    if here in files:
        return [here]
    return by_base.get(os.path.basename(inc), [])

def closure(f):
    seen, todo = set(), [f]
    while todo:
        cur = todo.pop()
        for inc in includes(cur):
            for h in resolve(cur, inc):
                if h not in seen:
                    seen.add(h)
                    todo.append(h)
    return seen

IDENT = re.compile(r'\b([A-Za-z_]\w*)\s*\(')
KEYWORDS = {'if', 'for', 'while', 'switch', 'return', 'sizeof', 'typeof', '__typeof__', '__attribute__',
            'defined', '_printf_', '_cleanup_', 'static_assert', '_Static_assert', 'alignof'}

def top_level(text):
    """The file-level statements: (text, ends_with_body) with the bodies of braces left out."""
    out, cur, depth, i = [], [], 0, 0
    while i < len(text):
        c = text[i]
        if c == '{':
            if depth == 0:
                head = ''.join(cur)
                if re.search(r'\)\s*$', head):
                    out.append((head, True))
                    cur = []
                    depth = 1
                    j = i + 1
                    while j < len(text) and depth:
                        depth += {'{': 1, '}': -1}.get(text[j], 0)
                        j += 1
                    i = j
                    continue
            depth += 1
            cur.append(c)
        elif c == '}':
            depth -= 1
            cur.append(c)
        elif c == ';' and depth == 0:
            out.append((''.join(cur), False))
            cur = []
        else:
            cur.append(c)
        i += 1
    return out

def flat(s):
    """s with every brace body removed: "struct x { ... } v" reads "struct x  v"."""
    while True:
        t = re.sub(r'\{[^{}]*\}', ' ', s)
        if t == s:
            return s
        s = t

def name_of(stmt):
    s = flat(stmt)
    if re.match(r'\s*typedef\b', s):
        return None
    m = re.match(r'^[^()=]*?\b([A-Za-z_]\w*)\s*\(', s)
    if m and m.group(1) not in KEYWORDS:
        return m.group(1)
    m = re.match(r'^[^()]*?\b([A-Za-z_]\w*)\s*(\[[^\]]*\]\s*)*(=|$)', s.strip() + '\n' if '=' not in s else s)
    if m and re.search(r'\w\s+\**\s*' + m.group(1), s):
        return m.group(1)
    return None

declared = {}	# header -> names
defined = {}	# .c file -> names
for f, text in code.items():
    names = set()
    for stmt, body in top_level(text):
        n = name_of(stmt)
        if not n or re.search(r'\bstatic\b', flat(stmt).split(n, 1)[0]):
            continue
        if re.match(r'\s*(struct|union|enum)\s+\w+\s*$', flat(stmt)):
            continue
        if f.endswith('.h') and not body:
            names.add(n)
        elif f.endswith('.c') and (body or '=' in stmt or not re.match(r'\s*extern\b', stmt)):
            if body or '=' in stmt:
                names.add(n)
    (declared if f.endswith('.h') else defined)[f] = names

cfiles = sorted(f for f in files if f.endswith('.c'))
impl = {}	# header -> {c file: names it defines from there}
for h, names in declared.items():
    if h.endswith('-internal.h'):
        continue
    for c in cfiles:
        both = names & defined[c]
        if both:
            impl.setdefault(h, {})[c] = both

refs = {c: set(re.findall(r'\b[A-Za-z_]\w*\b', code[c])) for c in cfiles}
uses = {}
for a in cfiles:
    for h in closure(a):
        for b, names in impl.get(h, {}).items():
            if b != a and names & refs[a]:
                uses.setdefault(a, {}).setdefault(b, set()).update(names & refs[a])

def report(check, problems):
    print(('ok ' if not problems else 'not ok ') + check)
    for p in problems:
        print('# ' + p)

circles = []
for a in cfiles:
    for b in sorted(uses.get(a, {})):
        if a < b and a in uses.get(b, {}):
            circles.append('%s ↔ %s: %s uses %s, %s uses %s' % (a, b, a, ', '.join(sorted(uses[a][b])), b,
                                                               ', '.join(sorted(uses[b][a]))))
report('no two files call into each other (no call-backs)', circles)

# By includes alone, header X.h standing for the X.c beside it: A.c includes "B.h" while B.c
# includes "A.h".
def direct(c):
    return {h for inc in includes(c) for h in resolve(c, inc)}
loops = []
for a in cfiles:
    for b in cfiles:
        ha, hb = a[:-2] + '.h', b[:-2] + '.h'
        if a < b and hb in direct(a) and ha in direct(b):
            loops.append('%s includes %s, %s includes %s' % (a, hb, b, ha))
report('no include circles (A.c includes B.h while B.c includes A.h)', loops)

up = []
for f in sorted(files):
    for inc in includes(f):
        for h in resolve(f, inc):
            if not f.startswith('src/cmd/') and f != 'src/main.c' and h.startswith('src/cmd/'):
                up.append('%s includes %s' % (f, h))
            if f.startswith('src/shared/') and h.startswith('src/lib/'):
                up.append('%s includes %s' % (f, h))
report('nothing below src/cmd includes src/cmd, nothing in src/shared includes src/lib', up)

# The journal module talks SQL. main.c names SQLite's version in --version (sqlite3_libversion)
# and may include the header for that alone.
journal = re.compile(r'src/lib/(journal[\w-]*|blob|pve-vms)\.[ch]$')
sql = ['%s includes sqlite3.h' % f for f in sorted(files)
       if re.search(r'#\s*include\s*[<"]sqlite3\.h[>"]', files[f]) and not journal.match(f) and f != 'src/main.c']
sql += ['%s calls %s' % (f, ', '.join(sorted(set(calls)))) for f in sorted(files) if not journal.match(f)
        for calls in [[c for c in re.findall(r'\b(sqlite3_\w+)\s*\(', code[f]) if c != 'sqlite3_libversion']] if calls]
report('only the journal (journal*.c, blob.c) and the reader of pmxcfs\'s config.db (pve-vms.c) include sqlite3.h and talk SQL', sql)

o2 = [f for f in sorted(files) if re.search(r'\b(openat2|SYS_openat2)\b', code[f])
      and f not in ('src/lib/rootfs.c',)]
report('only rootfs.c calls openat2', ['%s calls openat2' % f for f in o2])
print('checked %d files, %d headers with an implementation' % (len(files), len(impl)))
EOF
rc=$?
if [ "$rc" -ne 0 ]; then
	not_ok "the layering check ran (python exit $rc)"
	plan_late
	exit 1
fi
while IFS= read -r line; do
	case $line in
	"ok "*) ok "${line#ok }" ;;
	"not ok "*) not_ok "${line#not ok }" ;;
	"# "*) diag "${line#\# }" ;;
	*) diag "$line" ;;
	esac
done <"$TEST_TMP/report"
plan_late
