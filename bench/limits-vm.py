#!/usr/bin/env python3
"""The cost of cgroup limits on a one-shot run: `hutch run -- true` against
`hutch run --memory 1G --pids 1000 -- true`, side by side, in a cgroup delegated to
the user (the guest of tests/vm/run; DESIGN.md's goal: limits <= +1 ms).

  tests/vm/run -- systemd-run --user --scope --quiet -p Delegate=yes bench/limits-vm.py [RUNS]

The driver sits in the scope's hutch-launcher leaf, where a hutch it starts finds its
delegated base at once: what is measured is making, filling and removing the sandbox's
leaf and starting PID 1 in it with clone3(CLONE_INTO_CGROUP), not systemd-run.
"""
import os
import statistics
import subprocess
import sys
import time

runs = int(sys.argv[1]) if len(sys.argv) > 1 else 200
own = open("/proc/self/cgroup").read().strip().split("::", 1)[1]
base = "/sys/fs/cgroup" + own
launcher = os.path.join(base, "hutch-launcher")
os.makedirs(launcher, exist_ok=True)
with open(os.path.join(launcher, "cgroup.procs"), "w") as procs:
    procs.write(str(os.getpid()))

commands = {
    "without limits": ["hutch", "run", "--", "true"],
    "--memory 1G --pids 1000": ["hutch", "run", "--memory", "1G", "--pids", "1000", "--", "true"],
}
times = {name: [] for name in commands}
for name, argv in commands.items():  # warm-up
    for _ in range(5):
        subprocess.run(argv, check=True)
for i in range(runs):
    order = list(commands.items())
    if i % 2:
        order.reverse()
    for name, argv in order:
        start = time.perf_counter()
        subprocess.run(argv, check=True)
        times[name].append((time.perf_counter() - start) * 1000)

print(f"# {os.uname().release}, {runs} runs each, interleaved; ms")
for name, samples in times.items():
    print(f"{name:26} mean {statistics.mean(samples):7.2f}  median {statistics.median(samples):7.2f}"
          f"  stdev {statistics.stdev(samples):6.2f}")
delta = statistics.median(times["--memory 1G --pids 1000"]) - statistics.median(times["without limits"])
print(f"limits cost (difference of medians): {delta:+.2f} ms")
