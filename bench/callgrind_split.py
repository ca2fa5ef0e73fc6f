#!/usr/bin/env python3
"""Splits a callgrind profile of Prosody into what each part of a delivery
costs (for bench/profile_inserver.sh; bench only).

    callgrind_split.py CALLGRIND_OUT DELIVERIES [--stanzas S] [--lua-map NM]

Every instruction in the file is put in one group by the function that
executed it (self cost): the Lua collector, the allocator, the VM, tables,
strings, the string library, the rest of liblua, mod_bots' C module
(xmppbots_bots.so: the bridge and the core), libc, Prosody's C modules.
liblua's functions are grouped by the object file they come from in
Debian's liblua5.4.a (`nm` output given with --lua-map). Also the
inclusive cost of the Lua C functions of xmppbots_bots.so (bot:deliver,
pool:tick ...), which include the Lua they call back and the collector
steps their allocations pay for. Prints Markdown tables per delivery.
"""
import argparse
import collections
import re
import sys

LIBLUA_GROUPS = {
    "lgc.o": "Lua collector (lgc.c)",
    "lmem.o": "allocator (lmem.c, l_alloc, glibc malloc/free)",
    "lvm.o": "Lua VM interpreter (lvm.c)",
    "ltable.o": "Lua tables (ltable.c)",
    "lstring.o": "Lua strings: interning, hashing (lstring.c)",
    "lstrlib.o": "Lua string library (string.find/match/format/gsub...)",
}
OTHER_LIBLUA = "rest of liblua: calls, C API, metamethods, other libraries"
ALLOC = LIBLUA_GROUPS["lmem.o"]
GLIBC_ALLOC = re.compile(r"^(__libc_)?(malloc|free|cfree|realloc|calloc)$|^_int_|"
                         r"^malloc_|^tcache|^unlink_chunk|^arena_|^sysmalloc")


def read_lua_map(path):
    """Function name -> object file, from `nm liblua5.4.a`."""
    where, member = {}, None
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if line.endswith(".o:"):
            member = line[:-1]
        elif member and re.match(r"^[0-9a-f]+ [tT] ", line):
            where.setdefault(line.split()[2].split(".")[0], member)
    return where


def parse(path):
    """Self cost per (object, function), inclusive cost per call edge."""
    names = {"ob": {}, "fn": {}}
    selfc = collections.Counter()
    edges = collections.Counter()
    ob = fn = cob = cfn = None
    in_call = False
    space = {"ob": "ob", "cob": "ob", "fn": "fn", "cfn": "fn"}
    for line in open(path, encoding="utf-8", errors="replace"):
        c = line[0]
        if c.isdigit() or c in "+-*":
            parts = line.split()
            cost = int(parts[1]) if len(parts) > 1 else 0
            if in_call:
                edges[((ob, fn), (cob or ob, cfn))] += cost
                in_call = False
                cob = None
            else:
                selfc[(ob, fn)] += cost
            continue
        m = re.match(r"^(ob|cob|fn|cfn)=(?:\((\d+)\))?\s*(.*)$", line.rstrip("\n"))
        if m:
            key, ident, name = m.groups()
            table = names[space[key]]
            if ident is not None and name:
                table[ident] = name
            value = table.get(ident, name) if ident is not None else name
            if key == "ob":
                ob = value
            elif key == "cob":
                cob = value
            elif key == "fn":
                fn = value
            else:
                cfn = value
        elif line.startswith("calls="):
            in_call = True
    return selfc, edges


def group(obj, fn, lua_map):
    base = obj.rsplit("/", 1)[-1] if obj else "?"
    name = (fn or "?").split("'")[0].split(".")[0]  # foo.isra.0, foo.part.0
    if base == "xmppbots_bots.so":
        return "mod_bots C module (bridge, core; xmppbots_bots.so)"
    if base.startswith("libc.so") or base.startswith("libc-"):
        return ALLOC if GLIBC_ALLOC.search(name) else "libc (strlen, memcpy, ...)"
    if name == "l_alloc":  # lauxlib's allocator function
        return ALLOC
    if name in lua_map:
        return LIBLUA_GROUPS.get(lua_map[name], OTHER_LIBLUA)
    if name.startswith("luaC_"):
        return LIBLUA_GROUPS["lgc.o"]
    if base.startswith("lua"):  # the interpreter: PLT stubs, main
        return OTHER_LIBLUA
    if "/prosody/" in (obj or ""):
        return "Prosody's C modules (util.*.so)"
    return "other (" + base + ")"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("deliveries", type=int)
    ap.add_argument("--stanzas", type=int, default=0)
    ap.add_argument("--lua-map")
    a = ap.parse_args()
    lua_map = read_lua_map(a.lua_map) if a.lua_map else {}
    selfc, edges = parse(a.out)
    total = sum(selfc.values())
    d = max(a.deliveries, 1)
    groups = collections.Counter()
    for (obj, fn), cost in selfc.items():
        groups[group(obj, fn, lua_map)] += cost
    print(f"Instructions in the window: {total:,} ({total / d:,.0f} per groupchat delivery"
          + (f", {total / a.stanzas:,.0f} per stanza delivered" if a.stanzas else "") + ")")
    print()
    print("| part (self cost of the functions) | instructions per delivery | % |")
    print("|---|---:|---:|")
    for g, cost in groups.most_common():
        print(f"| {g} | {cost / d:,.0f} | {100 * cost / total:.1f} |")
    print()
    # Inclusive costs: the Lua C functions of our module (nothing else
    # calls them, and none of them is re-entered through itself here).
    incl = collections.Counter()
    calls_out = collections.Counter()
    for ((obj, fn), _), cost in edges.items():
        calls_out[(obj, fn)] += cost
    for (obj, fn), cost in selfc.items():
        if obj and obj.endswith("xmppbots_bots.so") and fn and fn.startswith("L"):
            incl[fn] = cost + calls_out[(obj, fn)]
    polls = incl.get("Lpool_stats", 0)
    if polls:
        print(f"Of these, the script's polls of the counters (pool:stats() through the admin "
              f"shell, every 10 s): {polls / d:,.0f} per delivery; without them "
              f"{(total - polls) / d:,.0f} per delivery.")
        print()
    if incl:
        print("| Lua C function of xmppbots_bots.so | inclusive instructions per delivery"
              + (" | per stanza delivered" if a.stanzas else "") + " | % |")
        print("|---|---:|" + ("---:|" if a.stanzas else "") + "---:|")
        for fn, cost in incl.most_common(8):
            print(f"| {fn} | {cost / d:,.0f}"
                  + (f" | {cost / a.stanzas:,.0f}" if a.stanzas else "")
                  + f" | {100 * cost / total:.1f} |")
        print()
    print("| function (self) | object | instructions per delivery | % |")
    print("|---|---|---:|---:|")
    for (obj, fn), cost in selfc.most_common(25):
        print(f"| {fn} | {(obj or '?').rsplit('/', 1)[-1]} | {cost / d:,.0f} | {100 * cost / total:.1f} |")


if __name__ == "__main__":
    sys.exit(main())
