#!/usr/bin/python3
"""bench/run's helper, standard library only.

  report.py pss --root PID --comm NAME --payload NAME
      wait until a process called --payload runs below PID, print the summed PSS of the
      processes called --comm in that tree as JSON, then stop the payload (SIGTERM).
  report.py env-pss --state DIR
      print as JSON the summed PSS of the supervisor and PID 1 of every environment running
      under the hutch state root DIR (from DIR/data/envs/NAME/run/state.json).
  report.py disk --state DIR
      print as JSON the disk use of the image store and of the environments under the hutch
      state root DIR, counted as `du -s` does (allocated blocks, each file once).
  report.py write --raw DIR --rows TSV --md FILE --svg FILE --svg-link REL --json FILE
                  [--meta KEY=VALUE ...]
      merge hyperfine's JSON exports (every round), and write the results: BENCHMARKS.md, an
      SVG chart of the time distributions, and a JSON summary.
"""

import argparse
import datetime
import glob
import gzip
import json
import math
import os
import platform
import random
import signal
import statistics
import sys
import time
from xml.sax.saxutils import escape

STARTUP_GOAL = 0.8
OVERHEAD_GOAL = 3.0
EXEC_GOAL = 1.5
RESTART_GOAL_MS = 30
IMPORT_GOAL = 1.5
PODMAN_GOAL = 1.0
PSS_GOAL_KIB = 2048
# Issue 21 raised the start-up and networking goals toward the kernel's floor.
FLOOR_BWRAP_GOAL = 0.6
FLOOR_UNSHARE_GOAL = 1.25
PASTA_GOAL_MS = 20.0
# An environment from an image may add its upper layer and a few files, never a copy of the
# image: what each one adds must stay below this fraction of the image.
DISK_GOAL_FRACTION = 0.05


# --- pss -------------------------------------------------------------------------------------

def children_of(root):
    """Every process below root (root included), as {pid: comm}."""
    parent = {}
    comm = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        parent[int(entry)] = ppid
        comm[int(entry)] = name
    tree = {root}
    grew = True
    while grew:
        grew = False
        for pid, ppid in parent.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return {pid: comm[pid] for pid in tree if pid in comm}


def pss_kib(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    raise OSError(f"no Pss in /proc/{pid}/smaps_rollup")


def cmd_pss(args):
    deadline = time.monotonic() + 10
    while True:
        tree = children_of(args.root)
        payload = [pid for pid, name in tree.items() if name == args.payload]
        if payload or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if not payload:
        print(json.dumps({"error": f"no {args.payload} process appeared"}))
        return 1
    time.sleep(0.2)  # let the sandbox settle: init waits, the payload sleeps
    procs = sorted(pid for pid, name in tree.items() if name == args.comm)
    result = {"processes": len(procs)}
    try:
        result["pss_kib"] = sum(pss_kib(pid) for pid in procs)
        result["each_kib"] = [pss_kib(pid) for pid in procs]
    except OSError as e:
        result["error"] = f"cannot read smaps_rollup ({e.strerror or e}); run as root"
    for pid in payload:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    print(json.dumps(result))
    return 0


def cmd_env_pss(args):
    # Live state sits beside each definition; only a running environment has it.
    defined = os.path.join(args.state, "data", "envs")
    envs = {}
    errors = []
    for name in sorted(os.listdir(defined)) if os.path.isdir(defined) else []:
        state_path = os.path.join(defined, name, "run", "state.json")
        if not os.path.exists(state_path):
            continue
        try:
            with open(state_path) as f:
                state = json.load(f)
            envs[name] = {"supervisor": pss_kib(state["supervisor"]), "init": pss_kib(state["init"])}
        except (OSError, ValueError, KeyError) as e:
            errors.append(f"{name}: {e}")
    result = {"environments": len(envs), "processes": 2 * len(envs)}
    if envs:
        sup = [e["supervisor"] for e in envs.values()]
        ini = [e["init"] for e in envs.values()]
        each = [a + b for a, b in zip(sup, ini)]
        result.update({
            "pss_kib": sum(each),
            "per_env_kib": sum(each) / len(each),
            "max_env_kib": max(each),
            "supervisor_kib": sum(sup) / len(sup),
            "init_kib": sum(ini) / len(ini),
        })
    if errors:
        result["error"] = "; ".join(errors[:3]) + (" (run as root?)" if os.getuid() else "")
    print(json.dumps(result))
    return 0 if envs and not errors else 1


# --- disk --------------------------------------------------------------------------------------

def du_kib(paths, seen=None):
    """KiB allocated under paths, as `du -sk` counts them: directories included, symbolic links
    not followed, and every inode once (hard links, also across paths and across calls that share
    `seen`). Unreadable directories count, their contents not."""
    seen = set() if seen is None else seen
    blocks = 0
    for top in paths:
        for dirpath, dirnames, filenames in os.walk(top, onerror=lambda e: None):
            names = [dirpath] if dirpath == top else []
            names += [os.path.join(dirpath, n) for n in dirnames + filenames]
            for name in names:
                try:
                    st = os.lstat(name)
                except OSError:
                    continue
                if (st.st_dev, st.st_ino) not in seen:
                    seen.add((st.st_dev, st.st_ino))
                    blocks += st.st_blocks
    return blocks * 512 // 1024


def cmd_disk(args):
    images = os.path.join(args.state, "data", "images")
    envs_dir = os.path.join(args.state, "data", "envs")
    envs = sorted(os.path.join(envs_dir, n) for n in os.listdir(envs_dir)) if os.path.isdir(envs_dir) else []
    if not envs or not os.path.isdir(images):
        print(json.dumps({"error": f"no image or no environment under {args.state}"}))
        return 1
    image = du_kib([images])
    together = du_kib([images] + envs)
    copied = 0
    for env in envs:
        for _, _, filenames in os.walk(os.path.join(env, "upper"), onerror=lambda e: None):
            copied += len(filenames)
    result = {
        "environments": len(envs),
        "image_kib": image,
        # Each environment's directory alone, summed: a hard link into another environment or
        # into the image would count here in full, and once only in together_kib.
        "envs_each_kib": sum(du_kib([e]) for e in envs),
        "together_kib": together,
        "per_env_kib": (together - image) / len(envs),
        "upper_files": copied,
    }
    print(json.dumps(result))
    return 0


# --- statistics ------------------------------------------------------------------------------

def load_results(raw, rows):
    """{(set, label): stats}, merging every round's times for a row."""
    merged = {}
    for path in sorted(glob.glob(os.path.join(raw, "*-*.json"))):
        name = os.path.basename(path)
        if name.startswith(("pss-", "disk")):
            continue
        set_name = name.rsplit("-", 1)[0]
        with open(path) as f:
            for r in json.load(f)["results"]:
                m = merged.setdefault((set_name, r["command"]), {"times": [], "user": [], "system": []})
                m["times"].extend(r["times"])
                m["user"].append((r["user"], len(r["times"])))
                m["system"].append((r["system"], len(r["times"])))
    stats = {}
    for (set_name, label, command, skip) in rows:
        m = merged.get((set_name, label))
        if skip or not m:
            continue
        t = [x * 1000 for x in m["times"]]
        n = len(t)
        weighted = lambda pairs: sum(v * k for v, k in pairs) / sum(k for _, k in pairs) * 1000
        stats[(set_name, label)] = {
            "set": set_name,
            "label": label,
            "command": command,
            "n": n,
            "mean_ms": statistics.fmean(t),
            "stddev_ms": statistics.stdev(t) if n > 1 else 0.0,
            "median_ms": statistics.median(t),
            "min_ms": min(t),
            "max_ms": max(t),
            "user_ms": weighted(m["user"]),
            "system_ms": weighted(m["system"]),
            "times_ms": t,
        }
    return stats


def ratio(a, b):
    """a/b with its spread (first-order propagation of both standard deviations)."""
    r = a["mean_ms"] / b["mean_ms"]
    rel = math.hypot(a["stddev_ms"] / a["mean_ms"], b["stddev_ms"] / b["mean_ms"])
    return r, r * rel


def status(ok):
    return "met" if ok else "**not met**"


def ratio_goal(what, target, a, b, goal):
    """A goals-table row for the ratio a/b, met when it is at most `goal`."""
    r, s = ratio(a, b)
    return f"| {what} | {target} | {r:.2f}× ± {s:.2f} | {status(r <= goal)} |"


def floor_goals(hutch, bwrap, unshare, pasta):
    """The table of issue 21's goals: start-up and networking closer to the kernel's floor.
    Ratios of means, as the table above; the networking goal is a median."""
    L = ["## Goals closer to the kernel's floor (issue 21)", ""]
    L.append("| goal | target | measured | status |")
    L.append("| --- | --- | --- | --- |")
    if hutch and bwrap:
        L.append(ratio_goal("start-up: `hutch run -- true` (Landlock + seccomp on) vs bwrap",
                            f"≤ {FLOOR_BWRAP_GOAL}×", hutch, bwrap, FLOOR_BWRAP_GOAL))
    if hutch and unshare:
        L.append(ratio_goal("start-up: `hutch run -- true` vs `unshare -Urpfmniu --mount-proc true`"
                            " (the namespaces alone)", f"≤ {FLOOR_UNSHARE_GOAL}×", hutch, unshare,
                            FLOOR_UNSHARE_GOAL))
    if pasta:
        v = pasta["median_ms"]
        L.append(f"| `hutch run --net pasta -- true`, median | ≤ {PASTA_GOAL_MS:g} ms | {fmt_ms(v)} ms"
                 f" (min {fmt_ms(pasta['min_ms'])}) | {status(v <= PASTA_GOAL_MS)} |")
    L.append("")
    L.append("The memory goals of issue 21 (a one-shot launcher ≤ 1 MiB PSS; 1,000 idle"
             " environments ≤ 0.4 MiB each, `hutch ls` ≤ 50 ms) are measured by their own scripts;"
             " see *Measured elsewhere* below. The `find /usr` goal is the one in the table above.")
    L.append("")
    return L


def overhead(a, b):
    """(a - b) / b in percent, with the standard error of that estimate."""
    pct = (a["mean_ms"] / b["mean_ms"] - 1) * 100
    se_a = a["stddev_ms"] / math.sqrt(a["n"]) / a["mean_ms"]
    se_b = b["stddev_ms"] / math.sqrt(b["n"]) / b["mean_ms"]
    return pct, a["mean_ms"] / b["mean_ms"] * math.hypot(se_a, se_b) * 100


# --- machine ---------------------------------------------------------------------------------

def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    distro = "unknown"
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    distro = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return {
        "cpu": model,
        "nproc": os.cpu_count(),
        "kernel": platform.release(),
        "distro": distro,
    }


def tick_accounting():
    """True when the kernel splits user/system time by sampling at the tick (the usual default):
    then a process that lives a few milliseconds gets its whole run time called "user"."""
    try:
        with gzip.open("/proc/config.gz", "rt") as f:
            config = f.read()
    except OSError:
        try:
            with open(f"/boot/config-{platform.release()}") as f:
                config = f.read()
        except OSError:
            return None
    return "CONFIG_VIRT_CPU_ACCOUNTING_GEN=y" not in config


# --- chart -----------------------------------------------------------------------------------

PALETTE = {
    "hutch": "#1b7a4b",
    "bwrap": "#3465a4",
    "unshare": "#7a7a7a",
    "firejail": "#c4572c",
    "no sandbox": "#a0a0a0",
    "nsenter": "#3465a4",
    "tar": "#3465a4",
    "curl via a port published": "#1b7a4b",
    "curl via plain": "#7a7a7a",
    "podman run --runtime hutch-oci": "#1b7a4b",
    "podman run --runtime runc": "#3465a4",
}


def colour(label):
    for key, c in PALETTE.items():
        if label.startswith(key):
            return c
    return "#555555"


def quantile(sorted_t, q):
    if len(sorted_t) == 1:
        return sorted_t[0]
    pos = q * (len(sorted_t) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_t) - 1)
    return sorted_t[lo] + (sorted_t[hi] - sorted_t[lo]) * (pos - lo)


def nice_ticks(lo, hi, log):
    if log:
        ticks = []
        decade = 10 ** math.floor(math.log10(lo))
        while decade <= hi * 10:
            for m in (1, 2, 5):
                v = m * decade
                if lo <= v <= hi:
                    ticks.append(v)
            decade *= 10
        return ticks
    span = hi - lo
    step = 10 ** math.floor(math.log10(span / 5))
    for m in (1, 2, 5, 10):
        if span / (m * step) <= 6:
            step *= m
            break
    first = math.ceil(lo / step) * step
    ticks = []
    v = first
    while v <= hi + 1e-12:
        ticks.append(round(v, 10))
        v += step
    return ticks


def fmt_tick(v):
    return f"{v:g}"


def panel(rows, title, y0, width):
    """One box-and-strip plot: a row per command. Returns (svg elements, height)."""
    left, right = 300, 30
    row_h = 34
    top = 34
    plot_w = width - left - right
    all_t = sorted(t for r in rows for t in r["times_ms"])
    lo = quantile(all_t, 0.0)
    hi = quantile(all_t, 1.0)
    log = hi / max(lo, 1e-9) > 6
    if log:
        lo, hi = lo / 1.15, hi * 1.15
        scale = lambda v: left + (math.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo)) * plot_w
    else:
        pad = (hi - lo) * 0.05 or hi * 0.05
        lo, hi = max(0.0, lo - pad), hi + pad
        scale = lambda v: left + (v - lo) / (hi - lo) * plot_w
    height = top + row_h * len(rows) + 44
    out = [f'<g transform="translate(0,{y0})">']
    out.append(f'<text x="{left}" y="20" class="title">{escape(title)}</text>')
    for v in nice_ticks(lo, hi, log):
        x = scale(v)
        out.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{top + row_h * len(rows)}" class="grid"/>')
        out.append(f'<text x="{x:.1f}" y="{top + row_h * len(rows) + 16}" class="tick">{fmt_tick(v)}</text>')
    out.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{top + row_h * len(rows) + 36}" class="axis">'
        f'wall time per run, ms{" (log scale)" if log else ""}</text>'
    )
    rng = random.Random(10)
    for i, r in enumerate(rows):
        cy = top + row_h * i + row_h / 2
        c = colour(r["label"])
        t = sorted(r["times_ms"])
        out.append(f'<text x="{left - 10}" y="{cy + 4:.1f}" class="label">{escape(r["label"])}</text>')
        sample = t if len(t) <= 300 else rng.sample(t, 300)
        out.append(f'<g fill="{c}" fill-opacity="0.35">')
        for v in sample:
            out.append(f'<circle cx="{scale(v):.1f}" cy="{cy + rng.uniform(-9, 9):.1f}" r="1.6"/>')
        out.append("</g>")
        q1, med, q3 = (quantile(t, q) for q in (0.25, 0.5, 0.75))
        p_lo, p_hi = quantile(t, 0.025), quantile(t, 0.975)
        out.append(
            f'<line x1="{scale(p_lo):.1f}" y1="{cy:.1f}" x2="{scale(q1):.1f}" y2="{cy:.1f}" stroke="{c}"/>'
            f'<line x1="{scale(q3):.1f}" y1="{cy:.1f}" x2="{scale(p_hi):.1f}" y2="{cy:.1f}" stroke="{c}"/>'
        )
        out.append(
            f'<rect x="{scale(q1):.1f}" y="{cy - 11:.1f}" width="{max(scale(q3) - scale(q1), 1):.1f}" '
            f'height="22" fill="none" stroke="{c}" stroke-width="1.5"/>'
        )
        out.append(
            f'<line x1="{scale(med):.1f}" y1="{cy - 11:.1f}" x2="{scale(med):.1f}" y2="{cy + 11:.1f}" '
            f'stroke="{c}" stroke-width="2.5"/>'
        )
        mx = scale(statistics.fmean(t))
        out.append(
            f'<path d="M{mx:.1f},{cy - 5:.1f} l4,5 l-4,5 l-4,-5 z" fill="white" stroke="black"/>'
        )
        out.append(
            f'<text x="{min(scale(p_hi) + 6, width - right):.1f}" y="{cy + 4:.1f}" class="value">'
            f'{med:.{2 if med < 100 else 0}f}</text>'
        )
    out.append("</g>")
    return out, height


def write_svg(path, panels_rows, caption):
    width = 900
    body = []
    y = 0
    for title, rows in panels_rows:
        if not rows:
            continue
        part, h = panel(rows, title, y, width)
        body.extend(part)
        y += h + 10
    height = y + 24
    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif">',
        "<style>"
        ".title{font-size:15px;font-weight:bold}"
        ".label{font-size:12px;text-anchor:end}"
        ".tick{font-size:11px;text-anchor:middle;fill:#444}"
        ".axis{font-size:12px;text-anchor:middle;fill:#444}"
        ".value{font-size:11px;fill:#222}"
        ".grid{stroke:#ddd;stroke-width:1}"
        ".caption{font-size:11px;fill:#555}"
        "</style>",
        f'<rect width="{width}" height="{height}" fill="white"/>',
        *body,
        f'<text x="10" y="{height - 8}" class="caption">{escape(caption)}</text>',
        "</svg>",
    ]
    with open(path, "w") as f:
        f.write("\n".join(svg) + "\n")


# --- report ----------------------------------------------------------------------------------

def fmt_ms(v, like=None):
    """Milliseconds, with the precision that `like` (default: v itself) calls for."""
    return f"{v:.0f}" if (v if like is None else like) >= 100 else f"{v:.2f}"


def write(args):
    meta = dict(kv.split("=", 1) for kv in args.meta)
    rows = []
    with open(args.rows) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            parts += [""] * (4 - len(parts))
            rows.append(tuple(parts[:4]))
    stats = load_results(args.raw, rows)
    pss = {}
    for path in glob.glob(os.path.join(args.raw, "pss-*.json")):
        with open(path) as f:
            try:
                pss[os.path.basename(path)[4:-5]] = json.load(f)
            except ValueError:
                pass
    try:
        with open(os.path.join(args.raw, "disk.json")) as f:
            disk = json.load(f)
    except (OSError, ValueError):
        disk = {"error": "not measured"}

    def get(set_name, prefix):
        for (s, label), v in stats.items():
            if s == set_name and label.startswith(prefix):
                return v
        return None

    hutch = get("startup", "hutch run (default")
    bwrap = get("startup", "bwrap")
    floor = get("startup", "unshare")
    w_hutch = get("workload", "hutch run (default")
    w_floor = get("workload", "unshare")
    w_sc = get("workload", "seccomp floor")
    b_hutch = get("build", "hutch run (default")
    b_floor = get("build", "unshare")
    x_hutch = get("exec", "hutch exec")
    x_ns = get("exec", "nsenter")
    r_hutch = get("restart", "hutch restart")
    i_hutch = get("import", "hutch image import")
    i_tar = get("import", "tar -x")
    n_pasta = get("net", "curl via a port published")
    n_loop = get("net", "curl via plain loopback")
    p_hutch = get("podman", "podman run --runtime hutch-oci")
    p_runc = get("podman", "podman run --runtime runc")
    env_pss = sorted((int(k[5:]), v) for k, v in pss.items() if k.startswith("envs-") and k[5:].isdigit())
    tmp = meta.get("tmp", "")
    import_dir = meta.get("import_dir", "")
    if import_dir and tmp and not import_dir.startswith(tmp):
        show = lambda command: display_command(command.replace(import_dir, "$SHM"), tmp)
    else:
        show = lambda command: display_command(command, tmp)

    m = machine()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    quick = meta.get("mode") == "quick"
    L = []
    L.append("# Benchmarks")
    L.append("")
    L.append(
        f"Written by `bench/run` on {now}. Do not edit by hand: rerun it (see *How to rerun*)."
        " Speed goals live here and in issue 10, never as timed assertions in the test suite."
    )
    if quick:
        L.append("")
        L.append("> **Quick mode** (`bench/run --quick`): a handful of runs to check that the"
                 " harness works. These numbers are not results.")
    L.append("")
    L.append("## Machine and run")
    L.append("")
    L.append("| | |")
    L.append("| --- | --- |")
    L.append(f"| CPU | {m['cpu']}, {m['nproc']} CPUs (`nproc`) |")
    L.append(f"| kernel | {m['kernel']} |")
    L.append(f"| distribution | {m['distro']} |")
    L.append(f"| hutch | {meta.get('built', '?')} |")
    L.append(f"| tools | {meta.get('tools', '?')} |")
    L.append(f"| sandboxes run as | {meta.get('user', '?')}, never root |")
    quiet = meta.get("quiet")
    if quiet == "yes":
        qnote = f"quiet (1-minute load < {meta.get('max_load')}; waited {meta.get('waited')} s)"
    elif quiet == "no":
        qnote = (f"**not quiet**: the 1-minute load stayed ≥ {meta.get('max_load')} for"
                 f" {meta.get('waited')} s, and the run went ahead anyway")
    else:
        qnote = "not waited for (quick mode)"
    # hyperfine starts one command after another, so the run alone keeps about one CPU busy
    # and ends with a 1-minute load near 1; only what goes beyond that is other work.
    try:
        after = float(meta.get("load_after", "0").split()[0])
        rose = after >= 1.0 + float(meta.get("max_load", "0.7"))
    except ValueError:
        after, rose = None, False
    if rose and not quick:
        qnote += (f"; **the load rose to {after} during the run**, more than the run's own (about"
                  " 1: it keeps one CPU busy): other work overlapped, so differences of a few per"
                  " cent are not conclusive")
    elif after is not None and not quick:
        qnote += (f"; the load at the end ({after}) is about the run's own: it keeps one CPU"
                  " busy")
    L.append(f"| load average (1, 5, 15 min) | before: {meta.get('load_before')}; after:"
             f" {meta.get('load_after')}; {qnote} |")
    startup_rounds = meta.get('startup_rounds', meta.get('rounds'))
    L.append(
        f"| runs | start-up: {startup_rounds} round{'' if startup_rounds == '1' else 's'} ×"
        f" {meta.get('startup_runs')} runs"
        f" (+{meta.get('startup_warmup')} warm-up) per command; workload: {meta.get('rounds')} ×"
        f" {meta.get('work_runs')} (+{meta.get('work_warmup')}); `hutch exec` vs nsenter: as"
        f" start-up; `hutch restart`: {meta.get('rounds')} × {meta.get('restart_runs')}"
        f" (+{meta.get('restart_warmup')}); image import vs `tar -x`: {meta.get('rounds')} ×"
        f" {meta.get('import_runs')} (+{meta.get('import_warmup')}); downloads: {meta.get('rounds')} ×"
        f" {meta.get('net_runs')} (+{meta.get('net_warmup')}); the command order is reversed"
        " every other round |"
    )
    L.append("")

    # Goals.
    L.append("## Goals (from DESIGN.md)")
    L.append("")
    L.append("| goal | target | measured | status |")
    L.append("| --- | --- | --- | --- |")
    if hutch and bwrap:
        L.append(ratio_goal("start-up: `hutch run -- true` (Landlock + seccomp on) vs bwrap",
                            f"≤ {STARTUP_GOAL}×", hutch, bwrap, STARTUP_GOAL))
    if b_hutch and b_floor:
        pct, se = overhead(b_hutch, b_floor)
        L.append(f"| Landlock + seccomp overhead on a build ({meta.get('build_files')} C files;"
                 f" hutch vs unshare; see [Overhead](#landlock--seccomp-overhead-on-syscall-heavy-workloads))"
                 f" | ≤ {OVERHEAD_GOAL:g} % | {pct:+.1f} % ± {se:.1f} | "
                 f"{status(pct <= OVERHEAD_GOAL)} |")
    if w_hutch and w_floor:
        pct, se = overhead(w_hutch, w_floor)
        floor_note = ""
        if w_sc:
            fpct, _ = overhead(w_sc, w_floor)
            floor_note = f"; any seccomp filter alone costs {fpct:+.1f} % here"
        L.append(f"| Landlock + seccomp overhead on `find /usr` (the worst case: a system call every"
                 f" µs{floor_note})"
                 f" | ≤ {OVERHEAD_GOAL:g} % | {pct:+.1f} % ± {se:.1f} | "
                 f"{status(pct <= OVERHEAD_GOAL)} |")
    if x_hutch and x_ns:
        L.append(ratio_goal("`hutch exec ENV -- true` vs `nsenter` into the same namespaces",
                            f"≤ {EXEC_GOAL}× nsenter", x_hutch, x_ns, EXEC_GOAL))
    if r_hutch:
        v = r_hutch["mean_ms"]
        L.append(f"| `hutch restart` latency (all of it hutch's own time: see [Environments](#environments))"
                 f" | ≤ {RESTART_GOAL_MS} ms of hutch's own time | {fmt_ms(v)} ± {fmt_ms(r_hutch['stddev_ms'], v)} ms"
                 f" | {status(v <= RESTART_GOAL_MS)} |")
    measured = [(n, p) for n, p in env_pss if "per_env_kib" in p]
    if measured:
        ok = all(p["per_env_kib"] <= PSS_GOAL_KIB for _, p in measured)
        L.append("| idle PSS per environment (supervisor + PID 1), with "
                 + ", ".join(str(n) for n, _ in measured) + " running | ≤ 2 MiB each | "
                 + "; ".join(f"{n}: {p['per_env_kib'] / 1024:.2f} MiB" for n, p in measured)
                 + f" | {status(ok)} |")
    if i_hutch and i_tar:
        L.append(ratio_goal("`hutch image import` vs `tar -x` of the same tarball",
                            f"≤ {IMPORT_GOAL}× tar -x", i_hutch, i_tar, IMPORT_GOAL))
    if p_hutch and p_runc:
        L.append(ratio_goal("rootless `podman run --rm IMAGE true` with hutch-oci vs runc (see"
                            " [OCI runtime](#oci-runtime-podman-with-hutch-oci-and-runc))",
                            f"≤ {PODMAN_GOAL:g}× runc", p_hutch, p_runc, PODMAN_GOAL))
    else:
        why = next((skip for (s_, _, _, skip) in rows if s_ == "podman" and skip), "not measured")
        L.append(f"| rootless `podman run --rm IMAGE true` with hutch-oci vs runc | ≤ {PODMAN_GOAL:g}× runc"
                 f" | {why} | |")
    if "per_env_kib" in disk:
        share = disk["per_env_kib"] / disk["image_kib"] if disk["image_kib"] else float("inf")
        L.append(f"| disk use of {disk['environments']} environments from one image (see"
                 f" [Disk use](#disk-use-of-environments-from-one-image)) | the image's lower layer"
                 f" shared: each environment adds ≤ {DISK_GOAL_FRACTION:.0%} of the image |"
                 f" {disk['per_env_kib']:.0f} KiB each, {share:.1%} of the image"
                 f" ({disk['image_kib'] / 1024:.1f} MiB) | {status(share <= DISK_GOAL_FRACTION)} |")
    else:
        L.append(f"| disk use of environments from one image | the image's lower layer shared"
                 f" | {disk.get('error', 'not measured')} | |")
    L.append("")
    L.extend(floor_goals(hutch, bwrap, get("startup", "unshare"), get("startup", "hutch run --net pasta")))
    L.append("± is one standard deviation of the run-to-run spread for ratios and times, and the"
             " standard error of the estimate for the overhead.")
    L.append("")

    # Start-up.
    L.append("## Start-up")
    L.append("")
    L.append("Each command runs `true` in a fresh sandbox; hyperfine starts it directly (`-N`, no"
             " shell). `hutch` is a release build copied to a temporary directory.")
    L.append("")
    L.append("| command | mean ± σ (ms) | median | min | user / sys (ms) | vs bwrap | vs unshare |")
    L.append("| --- | --- | --- | --- | --- | --- | --- |")
    for (set_name, label, command, skip) in rows:
        if set_name != "startup":
            continue
        cmd = show(command)
        if skip:
            L.append(f"| {label}: `{cmd}` | {skip} | | | | | |")
            continue
        v = stats.get((set_name, label))
        if not v:
            L.append(f"| {label}: `{cmd}` | no result | | | | | |")
            continue
        vs_b = "1" if v is bwrap else ("%.2f× ± %.2f" % ratio(v, bwrap) if bwrap else "—")
        vs_f = "1" if v is floor else ("%.2f× ± %.2f" % ratio(v, floor) if floor else "—")
        L.append(
            f"| {label}: `{cmd}` | {fmt_ms(v['mean_ms'])} ± {fmt_ms(v['stddev_ms'], v['mean_ms'])} | "
            f"{fmt_ms(v['median_ms'])} | {fmt_ms(v['min_ms'])} | "
            f"{v['user_ms']:.2f} / {v['system_ms']:.2f} | {vs_b} | {vs_f} |"
        )
    L.append("")
    L.append(f"![time distributions: start-up, workload, exec, restart, image import, networking]({args.svg_link})")
    L.append("")
    L.append(f"The chart ([{args.svg_link}]({args.svg_link})) shows every run (dots, at most 300 per"
             " row), the quartiles (box), the median (bar and number), the mean (diamond) and"
             " the 2.5–97.5 % range (whiskers).")
    L.append("")
    ticks = tick_accounting()
    if ticks:
        L.append("*user / sys*: this kernel splits CPU time into user and system by sampling at the"
                 " scheduler tick (no `CONFIG_VIRT_CPU_ACCOUNTING_GEN`). A process that lives a few"
                 " milliseconds is rarely sampled, and then its whole run time, kernel work"
                 " included, is reported as *user*. Read those columns as total CPU time; the"
                 " split between them means little here.")
        L.append("")
    minimal = get("startup", "hutch run (minimal profile)")
    if minimal:
        L.append("The minimal profile ([bench/minimal.toml](bench/minimal.toml)) binds the host's root"
                 " read-only and mounts a fresh `/proc` and `/dev`, nothing else: the mounts bwrap's"
                 " row makes. Landlock and seccomp stay on.")
        L.append("")
    if bwrap:
        L.append("Neither bwrap's launcher nor hutch's waits for its PID 1 to be reaped: bwrap exits"
                 " without reaping it, and hutch returns as soon as PID 1 has sent the payload's"
                 " status, before the kernel tears the namespaces down. So the CPU time of the"
                 " sandbox side and of `true` is missing from both user / sys columns, and both wall"
                 " times stop before the teardown.")
        L.append("")

    # Workloads.
    L.append("## Landlock + seccomp overhead on syscall-heavy workloads")
    L.append("")
    L.append("Two workloads, each run in hutch (default: Landlock + seccomp), in hutch with Landlock"
             " off, under `unshare` alone (the same namespaces, no Landlock, no seccomp), under"
             " `unshare` with a seccomp filter of one instruction that allows everything"
             " ([bench/seccomp-floor.c](bench/seccomp-floor.c): the kernel's floor for *any*"
             " filter, since a task with one takes the slower system-call entry), and with no"
             " sandbox.")
    L.append("")
    L.append(f"- *find*: `{meta.get('workload')}` walks `/usr` and stats every file: mostly"
             " `newfstatat`, `getdents64`, `openat` and `faccessat`, one system call every"
             " microsecond or so, each of which passes the seccomp filter, and each open Landlock's"
             " checks.")
    L.append(f"- *build*: [bench/build-workload](bench/build-workload) compiles"
             f" {meta.get('build_files')} small C files with `cc -O1 -c` (cc, cc1 and as per file:"
             " execs, opens, mmaps and reads).")
    L.append("")
    for set_name, title in (("workload", "find"), ("build", "build")):
        base = get(set_name, "unshare")
        L.append(f"### {title}")
        L.append("")
        L.append("| sandbox | mean ± σ (ms) | median | min | user / sys (ms) | vs unshare |")
        L.append("| --- | --- | --- | --- | --- | --- |")
        for (row_set, label, command, skip) in rows:
            if row_set != set_name:
                continue
            v = stats.get((row_set, label))
            if not v:
                continue
            vs = "1" if v is base else ("%+.1f %% ± %.1f" % overhead(v, base) if base else "—")
            L.append(
                f"| {label} | {fmt_ms(v['mean_ms'])} ± {fmt_ms(v['stddev_ms'], v['mean_ms'])} | "
                f"{fmt_ms(v['median_ms'])} | {fmt_ms(v['min_ms'])} | "
                f"{v['user_ms']:.0f} / {v['system_ms']:.0f} | {vs} |"
            )
        L.append("")
        full = get(set_name, "hutch run (default")
        off = get(set_name, "hutch run --landlock off")
        floor_sc = get(set_name, "seccomp floor")
        host = get(set_name, "no sandbox")
        if full and off and base:
            both, both_se = overhead(full, base)
            ll, ll_se = overhead(full, off)
            sc, sc_se = overhead(off, base)
            L.append(f"- Landlock + seccomp (hutch default vs unshare): **{both:+.1f} % ± {both_se:.1f}**"
                     f" (goal ≤ {OVERHEAD_GOAL:g} %).")
            L.append(f"- Landlock alone (hutch default vs `--landlock off`): {ll:+.1f} % ± {ll_se:.1f}.")
            L.append(f"- seccomp and the rest of hutch (`--landlock off` vs unshare): {sc:+.1f} % ± {sc_se:.1f}."
                     " hutch has no switch for seccomp; this row also holds hutch's own start-up"
                     " (a few ms).")
            if floor_sc:
                fl, fl_se = overhead(floor_sc, base)
                above, above_se = overhead(off, floor_sc)
                L.append(f"- The floor of any seccomp filter (one-instruction filter vs unshare):"
                         f" {fl:+.1f} % ± {fl_se:.1f}; hutch with Landlock off against that floor:"
                         f" {above:+.1f} % ± {above_se:.1f}.")
            if host:
                ns, ns_se = overhead(base, host)
                L.append(f"- For scale, the namespaces alone (unshare vs no sandbox): {ns:+.1f} % ± {ns_se:.1f}.")
            L.append("")
    L.append("± here is the standard error of the difference of means.")
    L.append("")

    # Environments.
    L.append("## Environments")
    L.append("")
    L.append("Two environments made with `hutch create NAME --host` (the base profile: the host"
             " read-only, a home of their own, no network) run under a state root in the"
             " temporary directory for these rows; they are removed afterwards.")
    L.append("")
    L.append("| command | mean ± σ (ms) | median | min | user / sys (ms) | vs nsenter |")
    L.append("| --- | --- | --- | --- | --- | --- |")
    for (set_name, label, command, skip) in rows:
        if set_name not in ("exec", "restart"):
            continue
        v = stats.get((set_name, label))
        if not v:
            L.append(f"| {label}: `{show(command)}` | no result | | | | |")
            continue
        vs = "1" if v is x_ns else ("%.2f× ± %.2f" % ratio(v, x_ns) if x_ns and set_name == "exec" else "")
        L.append(
            f"| {label}: `{show(command)}` | {fmt_ms(v['mean_ms'])} ± {fmt_ms(v['stddev_ms'], v['mean_ms'])} | "
            f"{fmt_ms(v['median_ms'])} | {fmt_ms(v['min_ms'])} | "
            f"{v['user_ms']:.2f} / {v['system_ms']:.2f} | {vs} |"
        )
    L.append("")
    L.append("- *exec*: `hutch exec` joins the namespaces of the environment's PID 1 through a pidfd"
             " after checking its start time, then takes on the environment's capabilities,"
             " `no_new_privs`, Landlock rules and seccomp filter, and runs `true` as a child it"
             " waits for. nsenter joins the same namespaces (user first: the environment's user"
             " namespace belongs to the benchmarking user, so no privilege is needed) and forks"
             " once to enter the pid namespace; `--preserve-credentials` keeps the uid (without it"
             " nsenter switches to uid 0, which is not mapped). It sets up no Landlock, no seccomp"
             " and does not check which process it joins: the floor for joining.")
    L.append("- *restart*: the wall time of `hutch restart` from its start until it returns. It"
             " signals the supervisor, which stops PID 1 (SIGTERM), reaps it and sets up a new"
             " sandbox and PID 1; the command polls the environment's state every 10 ms until the"
             " new PID 1 is recorded, so the time comes in steps of about 10 ms: one a little over 10 ms"
             " means the new PID 1 was up by the second look. A `--host` environment's"
             " PID 1 is hutch's own init, which exits at once on SIGTERM and starts no services:"
             " there is no payload time in this number, all of it is hutch's own. Each run waits"
             " 2.7 s first (not timed), because five restarts within ten seconds stop an"
             " environment as a crash loop.")
    L.append("")

    # Memory.
    L.append("## Memory of idle environments")
    L.append("")
    L.append("The proportional set size (`Pss` of `/proc/PID/smaps_rollup`) of each idle"
             " environment's supervisor and PID 1, summed over all environments of one state root"
             " and divided by their number. The environments (`--host`, base profile) are started"
             " one after another and measured at each count; PSS splits the pages they share"
             " (hutch's binary, libc) between them, so the share per environment falls as the"
             " count grows. Once PID 1 runs, both give back the pages of hutch's binary that"
             " starting it touched (`shed_start_up_memory` in `src/env/supervisor.rs`).")
    L.append("")
    L.append("| environments | processes | total PSS | per environment | supervisor / PID 1 (mean) | largest |")
    L.append("| --- | --- | --- | --- | --- | --- |")
    for n, p in env_pss:
        if "per_env_kib" in p:
            L.append(f"| {n} | {p['processes']} | {p['pss_kib'] / 1024:.2f} MiB | **{p['per_env_kib'] / 1024:.2f} MiB**"
                     f" | {p['supervisor_kib']:.0f} / {p['init_kib']:.0f} KiB | {p['max_env_kib'] / 1024:.2f} MiB |")
        else:
            L.append(f"| {n} | | {p.get('error', 'not measured')} | | | |")
    if not env_pss:
        L.append("| | | not measured | | | |")
    L.append("")
    L.append("For comparison, the PSS of a one-shot sandbox's own processes while its payload"
             " (`sleep`) waits, payload excluded:")
    L.append("")
    L.append("| sandbox | processes | PSS |")
    L.append("| --- | --- | --- |")
    for name, what in (("hutch", "hutch run (launcher + init)"), ("bwrap", "bwrap (parent + pid 1)")):
        p = pss.get(name)
        if not p:
            L.append(f"| {what} | | not measured |")
        elif "pss_kib" in p:
            each = " + ".join(f"{k}" for k in p["each_kib"])
            L.append(f"| {what} | {p['processes']} | {p['pss_kib'] / 1024:.2f} MiB ({each} KiB) |")
        else:
            L.append(f"| {what} | {p.get('processes', '')} | {p.get('error', 'not measured')} |")
    L.append("")

    # Disk.
    L.append("## Disk use of environments from one image")
    L.append("")
    L.append("A tiny system (Debian's busybox-static and an `/etc`, as the tests make it) is"
             " imported once (`hutch image import`), then environments are made from it (`hutch"
             " create --image`, `--net none`) and started, so that each has mounted its overlay:"
             " the image's tree as the lower layer, shared, and an upper layer of its own. Sizes"
             " are allocated blocks as `du -s` counts them, each file once however many links it"
             " has; they are taken while the environments run.")
    L.append("")
    if "per_env_kib" in disk:
        n = disk["environments"]
        L.append("| | |")
        L.append("| --- | --- |")
        L.append(f"| image store (`data/images`) | {disk['image_kib']} KiB |")
        L.append(f"| image store and {n} environments' directories together | {disk['together_kib']} KiB |")
        L.append(f"| added by each environment | **{disk['per_env_kib']:.0f} KiB**"
                 f" ({disk['per_env_kib'] / disk['image_kib']:.1%} of the image) |")
        L.append(f"| the environments' directories, each measured alone, summed | {disk['envs_each_kib']} KiB |")
        L.append(f"| files in the upper layers (copied up or written) | {disk['upper_files']} |")
        L.append("")
        linked = disk["envs_each_kib"] - (disk["together_kib"] - disk["image_kib"])
        L.append("What an environment adds is its directory: `env.toml`, the console log, the lock"
                 " file and the overlay's `upper/` and `work/`. "
                 + (f"Measured alone, the environments' directories hold {linked} KiB more than"
                    " together: that much is shared through hard links." if linked > 0 else
                    "No file of the image is linked into them: measured alone or together, they"
                    " add up to the same."))
    else:
        L.append(disk.get("error", "not measured"))
    L.append("")

    # Image import.
    L.append("## Image import vs `tar -x`")
    L.append("")
    L.append(f"The tarball: `{meta.get('tarball', '?')}` of this host, plain (no compression, so that both"
             f" time extraction, not decompression), {meta.get('tarball_mib', '?')} MiB in"
             f" {meta.get('tarball_entries', '?')} entries, made by root so that it keeps its owners. Before"
             " each run the previous result is removed (`hutch image rm`, `rm -rf`; hyperfine"
             f" `--prepare`, not timed). Both extract into {meta.get('import_fs', '?')}: on a disk"
             " file system the time to create a file depends on what was deleted there lately"
             " (ext4's inode allocator skips inodes freed in the last minutes, `recently_deleted()`,"
             " and scanning past thousands of them can dominate an extraction), which would time"
             " the machine's other work, not the import.")
    L.append("")
    L.append("| command | mean ± σ (ms) | median | min | user / sys (ms) | vs tar -x |")
    L.append("| --- | --- | --- | --- | --- | --- |")
    for (set_name, label, command, skip) in rows:
        if set_name != "import":
            continue
        v = stats.get((set_name, label))
        if not v:
            L.append(f"| {label}: `{show(command)}` | no result | | | | |")
            continue
        vs = "1" if v is i_tar else ("%.2f× ± %.2f" % ratio(v, i_tar) if i_tar else "—")
        L.append(
            f"| {label}: `{show(command)}` | {fmt_ms(v['mean_ms'])} ± {fmt_ms(v['stddev_ms'], v['mean_ms'])} | "
            f"{fmt_ms(v['median_ms'])} | {fmt_ms(v['min_ms'])} | "
            f"{v['user_ms']:.0f} / {v['system_ms']:.0f} | {vs} |"
        )
    L.append("")
    L.append("`hutch image import` writes every file as root of a user namespace mapped to the"
             " benchmarking user's subordinate ids, so owners, modes and links are kept, and"
             " resolves every name inside the image (`openat2` `RESOLVE_IN_ROOT`); `tar -x` run by"
             " an unprivileged user makes every file its own.")
    L.append("")

    # Networking.
    L.append("## Networking")
    L.append("")
    L.append("DESIGN.md sets no goal for networking; issue 21's, for the set-up cost, is in"
             " [its goals table](#goals-closer-to-the-kernels-floor-issue-21), and the other rows"
             " are for information. Every server listens on 127.0.0.1 and every connection stays"
             " on this machine.")
    L.append("")
    pasta_row = get("startup", "hutch run --net pasta")
    if pasta_row and hutch:
        d = pasta_row["mean_ms"] - hutch["mean_ms"]
        se = math.hypot(pasta_row["stddev_ms"] / math.sqrt(pasta_row["n"]),
                        hutch["stddev_ms"] / math.sqrt(hutch["n"]))
        L.append(f"- *Set-up cost of pasta*: `hutch run --net pasta -- true` takes"
                 f" {fmt_ms(pasta_row['mean_ms'])} ± {fmt_ms(pasta_row['stddev_ms'], pasta_row['mean_ms'])} ms,"
                 f" `hutch run -- true` (`--net none`) {fmt_ms(hutch['mean_ms'])} ±"
                 f" {fmt_ms(hutch['stddev_ms'], hutch['mean_ms'])} ms (rows of [Start-up](#start-up)):"
                 f" **{d:+.1f} ms ± {se:.1f}** (standard error of the difference) for starting pasta,"
                 " waiting until it has configured the sandbox's interface, and ending it.")
        L.append("")
    try:
        size = int(meta.get("net_bytes", "0"))
    except ValueError:
        size = 0
    L.append(f"*Throughput*: a file of {size / 1048576:.0f} MiB of random bytes, served by"
             " `python3 -m http.server` twice and downloaded with"
             " `curl -sf -o /dev/null` (hyperfine `-N`), once through a port that pasta publishes"
             " on the host's 127.0.0.1, once from a server on the host's loopback:")
    L.append("")
    L.append(f"- through pasta: `{show(meta.get('pasta_server', '?'))}`")
    L.append(f"- plain loopback: `{show(meta.get('host_server', '?'))}`")
    L.append("")
    L.append("| download | mean ± σ (ms) | median | min | user / sys of curl (ms) | MB/s (mean) | vs loopback |")
    L.append("| --- | --- | --- | --- | --- | --- | --- |")
    for (set_name, label, command, skip) in rows:
        if set_name != "net":
            continue
        v = stats.get((set_name, label))
        if not v:
            L.append(f"| {label}: `{show(command)}` | no result | | | | | |")
            continue
        mbs = size / 1e6 / (v["mean_ms"] / 1000) if size else 0
        if v is n_loop:
            vs = "1"
        elif n_loop:
            # Throughput ratio: loopback's time over this row's.
            vs = "%.2f× ± %.2f" % ratio(n_loop, v)
        else:
            vs = "—"
        L.append(
            f"| {label}: `{show(command)}` | {fmt_ms(v['mean_ms'])} ± {fmt_ms(v['stddev_ms'], v['mean_ms'])} | "
            f"{fmt_ms(v['median_ms'])} | {fmt_ms(v['min_ms'])} | "
            f"{v['user_ms']:.0f} / {v['system_ms']:.0f} | {mbs:.0f} | {vs} |"
        )
    L.append("")
    if n_pasta and n_loop and size:
        r, s = ratio(n_loop, n_pasta)
        L.append(f"- Through the published port: **{size / 1e6 / (n_pasta['mean_ms'] / 1000):.0f} MB/s**;"
                 f" plain loopback: **{size / 1e6 / (n_loop['mean_ms'] / 1000):.0f} MB/s**;"
                 f" pasta gets **{r:.2f}× ± {s:.2f}** of loopback's throughput.")
        L.append("")
    L.append("MB/s is 10⁶ bytes per second over the whole wall time of one download, curl's start-up and"
             " the HTTP request included (a few ms; they weigh more in quick mode's smaller file)."
             " Both servers are the same single-process Python, which copies the file in user space,"
             " so they can be the bottleneck on both sides and narrow the gap. The file is in the page"
             " cache after the warm-up. The connection from the host's 127.0.0.1 to the published"
             " port is taken by pasta and spliced (`splice(2)`, not through its tap interface) to a"
             " connection to 127.0.0.1 inside the sandbox, where the server listens.")
    L.append("")

    # OCI runtime.
    L.append("## OCI runtime: podman with hutch-oci and runc")
    L.append("")
    L.append("Rootless podman runs `true` in a busybox image (Debian's busybox-static, imported),"
             " once with `--runtime hutch-oci` (the release build), once with `--runtime runc`"
             " (Debian's package), as the benchmarking user; the whole `podman run --rm` is timed:"
             " podman, conmon, the runtime's create, start, state and delete, the overlay mount"
             " and the removal. Its state (storage: native overlay) lives in the temporary"
             " directory, and [docs/oci/containers.conf](docs/oci/containers.conf) has podman"
             " pass `--log` to both runtimes. `--cgroup-manager=cgroupfs --events-backend=file`:"
             " no systemd user session is needed; on this cgroup v1 host podman makes no cgroups"
             " for rootless containers, with either runtime.")
    if meta.get("podman_versions"):
        L.append(f"Versions: {meta['podman_versions']}; {meta.get('rounds')} ×"
                 f" {meta.get('podman_runs')} runs (+{meta.get('podman_warmup')}) per row.")
    L.append("")
    L.append("| runtime | mean ± σ (ms) | median | min | user / sys (ms) | vs runc |")
    L.append("| --- | --- | --- | --- | --- | --- |")
    for (set_name, label, command, skip) in rows:
        if set_name != "podman":
            continue
        if skip:
            L.append(f"| {label} | {skip} | | | | |")
            continue
        v = stats.get((set_name, label))
        if not v:
            L.append(f"| {label} | no result | | | | |")
            continue
        vs = "1" if v is p_runc else ("%.2f× ± %.2f" % ratio(v, p_runc) if p_runc else "—")
        L.append(
            f"| {label} | {fmt_ms(v['mean_ms'])} ± {fmt_ms(v['stddev_ms'], v['mean_ms'])} | "
            f"{fmt_ms(v['median_ms'])} | {fmt_ms(v['min_ms'])} | "
            f"{v['user_ms']:.0f} / {v['system_ms']:.0f} | {vs} |"
        )
    L.append("")
    L.append("user / sys is that of podman and its children that it waited for (conmon and the"
             " runtime run in processes podman does not wait for, mostly).")
    L.append("")

    # Rows measured by hand where bench/run cannot take them (bench/elsewhere.md), as they are.
    elsewhere = os.path.join(os.path.dirname(os.path.abspath(__file__)), "elsewhere.md")
    if os.path.exists(elsewhere):
        with open(elsewhere, encoding="utf-8") as f:
            L.extend(f.read().rstrip("\n").split("\n"))
        L.append("")

    # How to rerun.
    L.append("## How to rerun")
    L.append("")
    L.append("```sh")
    L.append("bench/run              # full run: waits for a quiet machine, rewrites this file,")
    L.append("                       # bench/startup.svg and bench/results.json (about 9 minutes)")
    L.append("bench/run --rev HEAD   # the same for a clean build of a commit (work tree mid-edit)")
    L.append("bench/run --quick      # a few runs of everything, written to a temporary directory;")
    L.append("                       # this is what CI can run to keep the harness working")
    L.append("```")
    L.append("")
    L.append("As root, `bench/run` installs what is missing (hyperfine, bubblewrap, passt, curl,"
             " firejail if possible) and runs every sandbox as the unprivileged user `hutch-test`"
             " (`HUTCH_BENCH_USER` to change); hutch is never benchmarked as root. As a normal user"
             " it runs them as you. It needs `/usr/bin/python3` (standard library only) for this"
             " report and the chart. `bench/run --help` lists the options.")
    L.append("")
    L.append("Method: every command runs once before it is timed and must succeed; hyperfine"
             " measures the rows of a set one after another, in alternating order over the"
             " rounds, and the rounds' times are merged. Ratios compare means.")
    L.append("")

    with open(args.md, "w") as f:
        f.write("\n".join(L))

    caption = (f"hutch benchmarks, {now} — {m['cpu']}, {m['nproc']} CPUs, Linux {m['kernel']}"
               + (" — QUICK MODE, not results" if quick else ""))
    panels = [
        ("Start-up: a sandbox running true",
         [v for (s, label), v in stats.items() if s == "startup"]),
        ("Workload: find /usr, stat every file",
         [v for (s, label), v in stats.items() if s == "workload"]),
        (f"Workload: a build of {meta.get('build_files', '?')} C files",
         [v for (s, label), v in stats.items() if s == "build"]),
        ("Joining a running environment: true",
         [v for (s, label), v in stats.items() if s == "exec"]),
        ("Restarting an environment",
         [v for (s, label), v in stats.items() if s == "restart"]),
        (f"Image import: a {meta.get('tarball_mib', '?')} MiB tarball",
         [v for (s, label), v in stats.items() if s == "import"]),
        (f"Networking: downloading {int(meta.get('net_bytes', '0') or 0) / 1048576:.0f} MiB over 127.0.0.1",
         [v for (s, label), v in stats.items() if s == "net"]),
        ("podman run --rm IMAGE true: hutch-oci and runc",
         [v for (s, label), v in stats.items() if s == "podman"]),
    ]
    write_svg(args.svg, panels, caption)

    summary = {
        "date": now,
        "machine": m,
        "meta": meta,
        "results": [{k: v for k, v in s.items() if k != "times_ms"} for s in stats.values()],
        "pss": pss,
        "disk": disk,
    }
    with open(args.json, "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    return 0


def display_command(command, tmp=""):
    """The command as a reader would type it: the temporary path of the binary becomes `hutch`,
    that of the minimal profile `bench/minimal.toml`, other temporary paths `$TMP/…`, and
    nsenter's target PID 1 `PID1`."""
    words = command.split(" ")
    if words and words[0].endswith("/hutch"):
        words[0] = "hutch"
    for i, w in enumerate(words):
        if tmp and tmp in w:
            w = w.replace(tmp + "/bin/hutch", "hutch").replace(tmp + "/bin/minimal.toml", "bench/minimal.toml")
            words[i] = w.replace(tmp + "/work/", "$TMP/").replace(tmp + "/", "$TMP/")
        elif words[0] == "nsenter" and i > 0 and words[i - 1] == "-t":
            words[i] = "PID1"
    return " ".join(words)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("pss")
    a.add_argument("--root", type=int, required=True)
    a.add_argument("--comm", required=True)
    a.add_argument("--payload", required=True)
    e = sub.add_parser("env-pss")
    e.add_argument("--state", required=True)
    d = sub.add_parser("disk")
    d.add_argument("--state", required=True)
    w = sub.add_parser("write")
    w.add_argument("--raw", required=True)
    w.add_argument("--rows", required=True)
    w.add_argument("--md", required=True)
    w.add_argument("--svg", required=True)
    w.add_argument("--svg-link", required=True)
    w.add_argument("--json", required=True)
    w.add_argument("--meta", action="append", default=[])
    args = p.parse_args()
    return {"pss": cmd_pss, "env-pss": cmd_env_pss, "disk": cmd_disk, "write": write}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
