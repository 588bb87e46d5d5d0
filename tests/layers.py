#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""layers.py - check that portwatch's sources keep one-way data flow
(docs/architecture.md). Run by `make check-layers`:

    tests/layers.py [--root DIR] [BUILD]      (BUILD defaults to "build")

A module is a .c file together with the .h of the same stem in the same
directory (daemon/x.c + daemon/x.h = module daemon/x); a header without a
.c is a module of its own. The checks, each reported with the files and
symbols at fault:

  a. include graph: the #include "..." / <...> lines of our C files
     (daemon/, cli/, include/, bpf/; bpf/vmlinux.h is generated and
     skipped) that resolve to one of our files give module -> module
     edges; a cycle between modules fails. Headers generated under the
     build directory (*.skel.h) are not ours and are ignored.
  b. call graph: for every object of the build (BUILD/obj/*.o and, when
     it exists, BUILD/cli/*.o), each undefined symbol (nm -u) that another
     object defines (nm --defined-only: global text, data, bss, rodata)
     gives an edge from the object's module to the definer's; a cycle
     between modules fails, shown with the symbols of its edges.
  c. client: files under cli/ may include from include/ only, and cli
     objects may use no symbol defined by a daemon/ object. Skipped, with
     a note, while cli/ does not exist.
  d. control layer: a module daemon/ctl*.c may not call a function of
     FORBIDDEN below (read from its object's undefined symbols).

Both graphs are found by Tarjan's strongly connected components: each
component of more than one module is a cycle. What the checks cannot
see: calls through function pointers, and static inline functions of
headers (the include graph covers those).

Exit status: 0 clean, 1 a check failed, 2 cannot check (no objects: run
`make` first). The self-test is tests/test_layers_selftest.py.
"""

import argparse
import os
import re
import subprocess
import sys
from collections import defaultdict

# What a control-layer module (daemon/ctl*.c) must not call itself. A
# request reads the daemon's state; the event loop drains the ring buffer
# before it serves requests, and only the monitor changes the table, its
# side records and the kernel's tracked map, or enters a namespace.
# Reads through caches that the monitor fills (monitor_kernel_all(),
# monitor_tb()) are allowed. Keep the reasons short: they are printed.
FORBIDDEN = {
    # draining the BPF ring buffer / applying events (bpfload.h, monitor.h)
    "pwbpf_consume": "drains the ring buffer",
    "ring_buffer__poll": "drains the ring buffer",
    "ring_buffer__consume": "drains the ring buffer",
    "monitor_handle_event": "applies an event to the table",
    # entering a network namespace (setns(2) or unshare(2) inside; snap.h, monitor.h, kbehavior.h)
    "setns": "enters a namespace",
    "unshare": "creates and enters a namespace",
    "snap_netns_call": "enters a namespace (setns)",
    "snap_walk": "enters every namespace (setns)",
    "snap_walk_netns": "enters a namespace (setns)",
    "monitor_kernel_extra": "may walk a namespace (snap_walk_netns)",
    "monitor_ports": "enters a namespace to read its sysctls (snap_netns_call)",
    "monitor_sysctl_int": "enters a namespace to read a sysctl (snap_netns_call)",
    "monitor_reconcile": "walks every namespace and rewrites the table",
    "kbehavior_probe": "creates namespaces for its trials",
    # mutating the ownership table (table.h)
    "table_upsert": "mutates the table",
    "table_remove": "deletes table state",
    "table_update_sock": "mutates the table",
    "table_sweep": "deletes table state",
    "table_free": "frees the table",
    # mutating what the monitor keeps beside the table (monitor.h, monitor_int.h, report.h)
    "monitor_tb_forget": "deletes bind-bucket state",
    "monitor_tb_sweep": "deletes bind-bucket state",
    "monitor_track": "writes the kernel's tracked map",
    "monitor_listener_gone": "records a departed listener",
    "monitor_fold_flush": "sends folded alerts",
    "monitor_free": "frees the monitor",
    "ring_push": "appends to the alert/conflict history",
    # the tracked map behind monitor_track() (libbpf)
    "bpf_map_update_elem": "writes a BPF map",
    "bpf_map_delete_elem": "deletes from a BPF map",
    "bpf_map__update_elem": "writes a BPF map",
    "bpf_map__delete_elem": "deletes from a BPF map",
}

# Where our C files live; per top directory, where its includes are looked
# up after the including file's own directory (the Makefile's -I flags;
# cli/ also gets daemon/ so that a daemon header it reaches is seen).
SRC_DIRS = ("daemon", "cli", "include", "bpf")
SEARCH = {
    "daemon": ("include", "daemon"),
    "cli": ("cli", "include", "daemon"),
    "include": ("include",),
    "bpf": ("include", "bpf"),
}
SKIP_FILES = {"bpf/vmlinux.h"}
OBJ_DIRS = (("obj", "daemon"), ("cli", "cli"))  # BUILD/<dir>/*.o, sources in <srcdir>/
DEFINED_TYPES = set("TDBRCGSVW")  # global symbols: text, data, bss, rodata, common, weak

INCLUDE_RE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*([<"])([^>"]+)[>"]', re.M)
COMMENT_RE = re.compile(r"/\*.*?\*/", re.S)


def module_of(path):
    """daemon/x.c, daemon/x.h -> daemon/x (a header's stem, with or without a .c)."""
    return os.path.splitext(path)[0]


def c_files(root):
    out = []
    for top in SRC_DIRS:
        base = os.path.join(root, top)
        for d, dirs, files in os.walk(base):
            dirs.sort()
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    rel = os.path.relpath(os.path.join(d, f), root)
                    if rel not in SKIP_FILES:
                        out.append(rel)
    return out


def includes(root, rel):
    """[(line, text, resolved relative path)] of rel's includes of our files."""
    with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
        text = f.read()
    # blank out comments, keeping their newlines so line numbers hold
    text = COMMENT_RE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    top = rel.split(os.sep)[0]
    out = []
    for m in INCLUDE_RE.finditer(text):
        kind, name = m.group(1), m.group(2)
        dirs = ([os.path.dirname(rel)] if kind == '"' else []) + list(SEARCH[top])
        for d in dirs:
            cand = os.path.normpath(os.path.join(d, name))
            if os.path.isfile(os.path.join(root, cand)) and cand not in SKIP_FILES:
                line = text.count("\n", 0, m.start()) + 1
                out.append((line, f"{kind}{name}{'>' if kind == '<' else kind}", cand))
                break
    return out


def include_graph(root):
    """modules, {(ma, mb): [why]}, {file: includes}"""
    files = c_files(root)
    modules = {module_of(f) for f in files}
    edges = defaultdict(list)
    incs = {}
    for f in files:
        incs[f] = includes(root, f)
        for line, text, target in incs[f]:
            a, b = module_of(f), module_of(target)
            if a != b:
                edges[(a, b)].append(f"{f}:{line} #include {text}")
    return modules, edges, incs


def nm(args, obj):
    r = subprocess.run(["nm", "-P"] + args + [obj], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"nm {' '.join(args)} {obj}: {r.stderr.strip()}")
    return [line.split() for line in r.stdout.splitlines() if line.strip()]


def source_of(obj, srcdir, root):
    """The source an object was built from: its .d file's first prerequisite, else srcdir/stem.c."""
    dep = obj[:-2] + ".d"
    if os.path.isfile(dep):
        with open(dep) as f:
            first = f.read().replace("\\\n", " ").split(":", 1)
        if len(first) == 2 and first[1].split():
            src = os.path.normpath(first[1].split()[0])
            if os.path.isabs(src):
                src = os.path.relpath(src, root)
            return src
    return os.path.join(srcdir, os.path.basename(obj)[:-2] + ".c")


def objects(root, build):
    """[(object path, module, source)] and notes (stale objects)."""
    out, notes = [], []
    for sub, srcdir in OBJ_DIRS:
        d = os.path.join(build, sub)
        if not os.path.isdir(d):
            continue
        for f in sorted(os.listdir(d)):
            if not f.endswith(".o"):
                continue
            obj = os.path.join(d, f)
            src = source_of(obj, srcdir, root)
            if not os.path.isfile(os.path.join(root, src)):
                notes.append(f"{obj}: skipped, its source {src} is gone (stale object)")
                continue
            out.append((obj, module_of(src), src))
    return out, notes


def call_graph(objs):
    """{(ma, mb): set(symbols)}, {module: set(undefined)}, {symbol: set(modules)}, notes"""
    defs = defaultdict(set)    # symbol -> {(objdir, module)}
    undef = defaultdict(set)   # module -> symbols
    odir = {}
    for obj, mod, _src in objs:
        odir[mod] = os.path.dirname(obj)
        for fields in nm(["--defined-only"], obj):
            if len(fields) >= 2 and fields[1] in DEFINED_TYPES:
                defs[fields[0]].add((odir[mod], mod))
        for fields in nm(["-u"], obj):
            if fields:
                undef[mod].add(fields[0])
    edges = defaultdict(set)
    notes = []
    for mod, syms in undef.items():
        for s in sorted(syms):
            definers = defs.get(s, set())
            # a symbol defined in several places: the definer linked with it (same build dir)
            near = {m for d, m in definers if d == odir[mod]}
            targets = near or {m for _d, m in definers}
            if len(targets) > 1:
                notes.append(f"{mod}: {s} is defined by {', '.join(sorted(targets))}")
            for t in targets:
                if t != mod:
                    edges[(mod, t)].add(s)
    definers = {s: {m for _d, m in v} for s, v in defs.items()}
    return edges, undef, definers, notes


def sccs(nodes, succ):
    """Tarjan's strongly connected components (iterative); lists of > 1 node, sorted."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = 0
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, iter(sorted(succ.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(succ.get(w, ())))))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return sorted(out)


def successors(edges):
    succ = defaultdict(set)
    for a, b in edges:
        succ[a].add(b)
    return succ


def report_cycles(kind, edges, nodes, fmt):
    cycles = sccs(nodes, successors(edges))
    lines = []
    for i, comp in enumerate(cycles, 1):
        lines.append(f"  FAIL {kind} cycle {i}: {' <-> '.join(comp)}")
        inside = set(comp)
        for (a, b) in sorted(edges):
            if a in inside and b in inside:
                lines.append(f"    {a} -> {b}: {fmt(edges[(a, b)])}")
    return cycles, lines


def check(root, build, out=sys.stdout):
    """Run every check; returns the exit status and prints the report."""
    def say(s=""):
        print(s, file=out)

    objs, notes = objects(root, build)
    if not objs:
        say(f"layers: no object files in {build}/obj or {build}/cli: run make first")
        return 2
    failures = {}

    # a. includes
    modules, iedges, incs = include_graph(root)
    cyc, lines = report_cycles("include", iedges, modules, lambda why: "; ".join(why))
    failures["include cycles"] = len(cyc)
    say(f"[a] include graph: {len(modules)} modules, {len(iedges)} edges, {len(cyc)} cycles")
    for s in lines:
        say(s)

    # b. calls
    cedges, undef, definers, cnotes = call_graph(objs)
    nodes = {m for _o, m, _s in objs}
    cyc, lines = report_cycles("call", cedges, nodes, lambda syms: ", ".join(sorted(syms)))
    failures["call cycles"] = len(cyc)
    ndirs = ", ".join(f"{build}/{sub}" for sub, _ in OBJ_DIRS if os.path.isdir(os.path.join(build, sub)))
    say(f"[b] call graph: {len(nodes)} modules from {len(objs)} objects ({ndirs}), "
        f"{len(cedges)} edges, {len(cyc)} cycles")
    for s in lines:
        say(s)
    for n in notes + cnotes:
        say(f"  note: {n}")

    # c. the client
    bad = []
    if not os.path.isdir(os.path.join(root, "cli")):
        say("[c] client: skipped: no cli/ yet (the client is still in daemon/)")
    else:
        cli_files = [f for f in incs if f.startswith("cli" + os.sep)]
        for f in cli_files:
            for line, text, target in incs[f]:
                if not target.startswith("include" + os.sep) and not target.startswith("cli" + os.sep):
                    bad.append(f"{f}:{line} #include {text} ({target}): the client may use include/ only")
        cli_mods = [m for _o, m, s in objs if s.startswith("cli" + os.sep)]
        for m in sorted(cli_mods):
            for (a, b), syms in sorted(cedges.items()):
                if a == m and not b.startswith("cli" + os.sep):
                    bad.append(f"{a} uses {', '.join(sorted(syms))} of {b}: the client may use include/ only")
        objnote = f"{len(cli_mods)} objects" if cli_mods else f"no objects in {build}/cli (includes only)"
        say(f"[c] client: {len(cli_files)} files under cli/, {objnote}, {len(bad)} violations")
        for s in bad:
            say(f"  FAIL {s}")
    failures["client uses of daemon/"] = len(bad)

    # d. the control layer
    ctl = sorted(m for _o, m, s in objs
                 if s.startswith("daemon" + os.sep + "ctl") and s.endswith(".c"))
    bad = []
    for m in ctl:
        for s in sorted(undef.get(m, ()) & FORBIDDEN.keys()):
            bad.append(f"{m} calls {s}: {FORBIDDEN[s]}")
    say(f"[d] control layer: {len(ctl)} modules (daemon/ctl*.c), "
        f"{len(FORBIDDEN)} forbidden symbols, {len(bad)} violations")
    for s in bad:
        say(f"  FAIL {s}")
    # a renamed function would silently leave the list: say so
    ours = ("pwbpf_", "snap_", "monitor_", "table_", "kbehavior_", "ring_push")
    for s in sorted(FORBIDDEN):
        if s.startswith(ours) and s not in definers:
            say(f"  note: forbidden {s} is defined by no object (renamed? update FORBIDDEN)")
    failures["forbidden calls"] = len(bad)

    total = sum(failures.values())
    summary = ", ".join(f"{n} {k}" for k, n in failures.items())
    say(f"layers: {'FAIL' if total else 'ok'}: {summary}")
    return 1 if total else 0


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="check portwatch's layering (docs/architecture.md)")
    ap.add_argument("build", nargs="?", help="build directory (default: ROOT/build)")
    ap.add_argument("--root", default=os.path.dirname(here), help="source tree (default: this checkout)")
    a = ap.parse_args()
    root = os.path.abspath(a.root)
    build = os.path.abspath(a.build) if a.build else os.path.join(root, "build")
    # shown relative to the tree when inside it
    if build.startswith(root + os.sep):
        build = os.path.relpath(build, root)
        os.chdir(root)
    return check(root, build)


if __name__ == "__main__":
    sys.exit(main())
