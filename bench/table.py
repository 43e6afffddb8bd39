#!/usr/bin/env python3
"""Turns bench/run's JSON lines into the tables of BENCHMARKS.md (medians over rounds)."""
import json
import statistics
import sys
from collections import defaultdict

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
med = statistics.median


def by(bench, case=None):
    out = defaultdict(list)
    for r in rows:
        if r.get("bench") == bench and (case is None or r.get("case") == case):
            out[r.get("side")].append(r)
    return out


print("## Gateway vs nginx (same TLS, client-certificate check, API key set, per-key counting, work)\n")
print("| case | parallax req/s | parallax + Redis req/s | nginx req/s | parallax / nginx | Redis / in-memory | parallax p99 ms | parallax + Redis p99 ms | nginx p99 ms | errors p/r/n |")
print("|---|---|---|---|---|---|---|---|---|---|")
for case in ["mock-keepalive-c64", "proxy-keepalive-c64", "handshakes-c16"]:
    s = by("gateway", case)
    if not s:
        continue
    p = [r["result"] for r in s["parallax"]]
    q = [r["result"] for r in s.get("parallax-redis", [])] or p
    n = [r["result"] for r in s["nginx"]]
    prps, qrps, nrps = med(x["rps"] for x in p), med(x["rps"] for x in q), med(x["rps"] for x in n)
    # The spread: each round's ratio, so a noisy round shows.
    spread = [a["rps"] / max(b["rps"], 1e-9) for a, b in zip(p, n)]
    print(f"| {case} | {prps:,.0f} | {qrps:,.0f} | {nrps:,.0f} | {prps / max(nrps, 1e-9):.2f} ({min(spread):.2f}-{max(spread):.2f}) | {qrps / max(prps, 1e-9):.2f} | {med(x['p99_ms'] for x in p):.2f} | {med(x['p99_ms'] for x in q):.2f} | {med(x['p99_ms'] for x in n):.2f} | {sum(x['errors'] for x in p)}/{sum(x['errors'] for x in q)}/{sum(x['errors'] for x in n)} |")
rss = by("gateway", "peak-rss")
if rss:
    print("\npeak RSS: " + ", ".join(f"{k} {v[0]['kb'] / 1024:.1f} MB" for k, v in rss.items()) + " (nginx: master + workers)\n")

print("## Resolver vs dnsmasq and unbound (one A record, 32 concurrent UDP clients)\n")
print("| server | queries/s | p99 ms | parallax / it |")
print("|---|---|---|---|")
s = by("resolver", "a-record-c32")
if s:
    ours = med(r["result"]["qps"] for r in s["parallax"])
    for side in ["parallax", "parallax-vpc-view", "dnsmasq", "unbound"]:
        if side in s:
            q = med(r["result"]["qps"] for r in s[side])
            print(f"| {side} | {q:,.0f} | {med(r['result']['p99_ms'] for r in s[side]):.2f} | {ours / max(q, 1e-9):.2f} |")
rss = by("resolver", "peak-rss")
if rss:
    print("\npeak RSS: " + ", ".join(f"{k} {v[0]['kb'] / 1024:.1f} MB" for k, v in rss.items()) + "\n")

print("## analyze scaling (synthetic organisations; the floor is serde_json parsing the same bytes)\n")
print("| resources | format | bytes | findings | parse floor ms | analyze ms | ratio | peak RSS MB |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    if r.get("bench") == "analyze":
        x = r["result"]
        print(f"| {x['resources']:,} | {x['format']} | {x['bytes']:,} | {x['findings']} | {x['parse_floor_ms']:.2f} | {x['analyze_ms']:.2f} | {x['ratio']:.2f} | {int(r['peak_rss_kb']) / 1024:.1f} |")

lab = [r["ms"] for r in rows if r.get("bench") == "lab"]
if lab:
    print(f"\n## lab\n\nthe seed scenario, wall time of `parallax lab` (median of {len(lab)}): {med(lab)} ms\n")
p = by("probe", "one-request")
if p:
    pm, cm = med(r["ms"] for r in p["probe"]), med(r["ms"] for r in p["curl"])
    print(f"## probe vs curl\n\none request to the local gateway (mTLS + key), process wall time, median of {len(p['probe'])}: parallax probe {pm} ms, curl {cm} ms, ratio {pm / max(cm, 1e-9):.2f}\n")
