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


def spread(values, fmt="{:,.0f}"):
    """median (min-max) of a side's rounds."""
    v = list(values)
    if not v:
        return "-"
    if len(v) == 1:
        return fmt.format(v[0])
    return f"{fmt.format(med(v))} ({fmt.format(min(v))}-{fmt.format(max(v))})"


def ratios(a, b, key):
    """a/b per round (rounds pair up: each round ran every side once, alternating)."""
    return [x[key] / max(y[key], 1e-9) for x, y in zip(a, b)]


print("## Gateway vs nginx (same TLS, client-certificate check, API key set, per-key counting, work)\n")
print("Each cell: median (min-max) over rounds; a ratio is taken per round, then summarised.\n")
print("| case | side | req/s | p99 ms | errors | server CPU ms per 1k requests |")
print("|---|---|---|---|---|---|")
gw_cases = ["mock-keepalive-c64", "proxy-keepalive-c64", "handshakes-c16"]
for case in gw_cases:
    s = by("gateway", case)
    for side in ["parallax", "parallax-redis", "nginx", "parallax-before"]:
        rows_ = s.get(side, [])
        rs = [r["result"] for r in rows_]
        if rs:
            cpu = [r["cpu_ms"] / max(r["result"]["requests"], 1) * 1000 for r in rows_ if "cpu_ms" in r]
            print(f"| {case} | {side} | {spread(x['rps'] for x in rs)} | {spread((x['p99_ms'] for x in rs), '{:.2f}')} | {sum(x['errors'] for x in rs)} | {spread(cpu, '{:.1f}')} |")
before = any(r.get("side") == "parallax-before" for r in rows)
print("\n| case | parallax / nginx | parallax + Redis / parallax |" + (" parallax / before |" if before else ""))
print("|---|---|---|" + ("---|" if before else ""))
for case in gw_cases:
    s = by("gateway", case)
    p = [r["result"] for r in s.get("parallax", [])]
    q = [r["result"] for r in s.get("parallax-redis", [])]
    n = [r["result"] for r in s.get("nginx", [])]
    b = [r["result"] for r in s.get("parallax-before", [])]
    if p and n:
        extra = f" {spread(ratios(p, b, 'rps'), '{:.2f}')} |" if b else (" - |" if before else "")
        print(f"| {case} | {spread(ratios(p, n, 'rps'), '{:.2f}')} | {spread(ratios(q, p, 'rps'), '{:.2f}') if q else '-'} |" + extra)
rss = by("gateway", "peak-rss")
if rss:
    print("\npeak RSS: " + ", ".join(f"{k} {v[0]['kb'] / 1024:.1f} MB" for k, v in rss.items()) + " (nginx: master + workers)\n")

print("## Resolver vs dnsmasq and unbound (one A record, 32 concurrent UDP clients)\n")
print("| server | queries/s | p99 ms | parallax / it (per round) |")
print("|---|---|---|---|")
s = by("resolver", "a-record-c32")
if s:
    ours = [r["result"] for r in s["parallax"]]
    for side in ["parallax", "parallax-vpc-view", "dnsmasq", "unbound"]:
        if side in s:
            rs = [r["result"] for r in s[side]]
            print(f"| {side} | {spread(x['qps'] for x in rs)} | {spread((x['p99_ms'] for x in rs), '{:.2f}')} | {spread(ratios(ours, rs, 'qps'), '{:.2f}')} |")
rss = by("resolver", "peak-rss")
if rss:
    print("\npeak RSS: " + ", ".join(f"{k} {v[0]['kb'] / 1024:.1f} MB" for k, v in rss.items()) + "\n")

print("## analyze scaling (synthetic organisations; the floor is serde_json parsing the same bytes)\n")
print("Each cell: median (min-max) over rounds; the ratio is taken per round (floor and analyze in one process, one after the other).\n")
print("| resources | format | bytes | findings | parse floor ms | analyze ms | ratio | peak RSS MB |")
print("|---|---|---|---|---|---|---|---|")
scale = defaultdict(list)
for r in rows:
    if r.get("bench") == "analyze":
        scale[(r["result"]["resources"], r["result"]["format"])].append(r)
for (n, fmt), rs in sorted(scale.items()):
    xs = [r["result"] for r in rs]
    rss = max(int(r["peak_rss_kb"]) for r in rs) / 1024
    print(f"| {n:,} | {fmt} | {xs[0]['bytes']:,} | {xs[0]['findings']} | {spread((x['parse_floor_ms'] for x in xs), '{:.2f}')} | {spread((x['analyze_ms'] for x in xs), '{:.2f}')} | {spread((x['ratio'] for x in xs), '{:.2f}')} | {rss:.1f} |")

lab = [r["ms"] for r in rows if r.get("bench") == "lab"]
if lab:
    print(f"\n## lab\n\nthe seed scenario, wall time of `parallax lab` (median of {len(lab)}): {med(lab)} ms\n")
p = by("probe", "one-request")
if p:
    pm, cm = med(r["ms"] for r in p["probe"]), med(r["ms"] for r in p["curl"])
    print(f"## probe vs curl\n\none request to the local gateway (mTLS + key), process wall time, median of {len(p['probe'])}: parallax probe {pm:.2f} ms, curl {cm:.2f} ms, ratio {pm / max(cm, 1e-9):.2f}\n")

collect = defaultdict(list)
for r in rows:
    if r.get("bench") == "collect":
        collect[r["case"]].append(r)
if collect:
    print("## collect an account from moto (parallax collect vs the same calls through boto3, one after another)\n")
    print("| case | side | wall ms | files | HTTP requests | moto CPU ticks | peak RSS MB | parallax / boto3 |")
    print("|---|---|---|---|---|---|---|---|")
    for case, rs in sorted(collect.items()):
        sides = {s: [r for r in rs if r["side"] == s] for s in ["parallax", "boto3"]}
        ratio = ratios(sides["parallax"], sides["boto3"], "ms")
        for side, xs in sides.items():
            if xs:
                rss = max(int(r["peak_rss_kb"]) for r in xs) / 1024
                req = xs[0]["requests"] or "-"
                print(f"| {case} | {side} | {spread(r['ms'] for r in xs)} | {xs[0]['files']} | {req} | {spread(r['moto_cpu_ticks'] for r in xs)} | {rss:.1f} | {spread(ratio, '{:.2f}') if side == 'parallax' else ''} |")

watch = defaultdict(list)
for r in rows:
    if r.get("bench") == "watch":
        watch[r["case"]].append(r)
if watch:
    print("## watch vs blackbox_exporter (the same HTTP targets on a local nginx, each probed once per interval; Prometheus drives blackbox_exporter and scrapes watch)\n")
    print("| case | side | probes in the window (expected) | CPU ms per 1k probes | peak RSS MB | blackbox_exporter / parallax (CPU per probe) |")
    print("|---|---|---|---|---|---|")
    for case, rs in sorted(watch.items()):
        sides = {s: [r for r in rs if r["side"] == s] for s in ["parallax", "blackbox_exporter"]}
        per = {s: [r["cpu_ms"] / max(r["probes"], 1) * 1000 for r in xs] for s, xs in sides.items()}
        ratio = [b / max(p, 1e-9) for p, b in zip(per["parallax"], per["blackbox_exporter"])]
        for side, xs in sides.items():
            if xs:
                rss = max(int(r["peak_rss_kb"]) for r in xs) / 1024
                print(f"| {case} | {side} | {spread(r['probes'] for r in xs)} ({xs[0]['expected']}) | {spread(per[side], '{:.1f}')} | {rss:.1f} | {spread(ratio, '{:.2f}') if side == 'parallax' else ''} |")

report = defaultdict(list)
for r in rows:
    if r.get("bench") == "report":
        report[r["case"]].append(r)
if report:
    print("## The HTML report in headless Chromium (analyze --format html; the floor is the same bytes as one <pre>)\n")
    print("| case | side | bytes | ms to the end of the page's script | parallax / floor |")
    print("|---|---|---|---|---|")
    for case, rs in sorted(report.items()):
        sides = {s: [r for r in rs if r["side"] == s] for s in ["parallax", "floor"]}
        ratio = ratios(sides["parallax"], sides["floor"], "ms")
        for side, xs in sides.items():
            if xs:
                print(f"| {case} | {side} | {xs[0]['bytes']:,} | {spread(r['ms'] for r in xs)} | {spread(ratio, '{:.2f}') if side == 'parallax' else ''} |")
