"""Whole-process `run` on a chain of identity nodes: tandem against Kedro.

What a user runs, timed as a whole process (start-up, spec or registry,
catalog, the run, the report): `tandem run --spec chain.yml` on a chain of
`builtin:identity` nodes over memory datasets, and `kedro run` in a minimal
Kedro 1.7 project registering the same chain. Each command runs `--repeat`
times per size; the minimum, median and maximum wall time are printed, with
the peak RSS of the tandem process (from the kernel's rusage of the child).

Usage:
  python scripts/bench_run.py --tandem target/release/tandem \
      [--kedro target/py-kedro/bin/kedro] [--sizes 1000,100000] \
      [--kedro-sizes 1000] [--repeat 5]

Exits non-zero when a command fails or when --kedro is given and Kedro
cannot run: a missing anchor is an error, not a silent skip.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def tandem_project(root, n):
    """A conf/ tree and a pipelines spec of `n` chained identity nodes."""
    os.makedirs(os.path.join(root, "conf", "base"))
    os.makedirs(os.path.join(root, "conf", "local"))
    with open(os.path.join(root, "conf", "base", "parameters.yml"), "w") as f:
        f.write("start: 0\n")
    with open(os.path.join(root, "conf", "base", "catalog.yml"), "w") as f:
        f.write("{}\n")
    spec = os.path.join(root, "chain.yml")
    with open(spec, "w") as f:
        f.write("nodes:\n")
        for i in range(n):
            source = "params:start" if i == 0 else f"d{i}"
            f.write(
                f"  - {{name: n{i}, func: 'builtin:identity', inputs: '{source}', "
                f"outputs: d{i + 1}}}\n"
            )
    return spec


def kedro_project(root, n):
    """A minimal Kedro 1.7 project whose default pipeline is the chain."""
    package = os.path.join(root, "src", "chainbench")
    os.makedirs(package)
    os.makedirs(os.path.join(root, "conf", "base"))
    os.makedirs(os.path.join(root, "conf", "local"))
    with open(os.path.join(root, "pyproject.toml"), "w") as f:
        f.write(
            '[tool.kedro]\npackage_name = "chainbench"\nproject_name = "chainbench"\n'
            'kedro_init_version = "1.7.0"\nsource_dir = "src"\n'
        )
    with open(os.path.join(root, "conf", "base", "parameters.yml"), "w") as f:
        f.write("start: 0\n")
    with open(os.path.join(root, "conf", "base", "catalog.yml"), "w") as f:
        f.write("{}\n")
    open(os.path.join(package, "__init__.py"), "w").close()
    with open(os.path.join(package, "settings.py"), "w") as f:
        f.write("")
    with open(os.path.join(package, "pipeline_registry.py"), "w") as f:
        f.write(
            "from kedro.pipeline import Pipeline, node\n\n"
            "def identity(x):\n    return x\n\n"
            "def register_pipelines():\n"
            f"    n = {n}\n"
            "    nodes = [node(identity, 'params:start' if i == 0 else f'd{i}', f'd{i + 1}',"
            " name=f'n{i}') for i in range(n)]\n"
            "    return {'__default__': Pipeline(nodes)}\n"
        )
    return root


def timed(command, cwd, repeat):
    """(min, median, max) seconds and the child's largest peak RSS in MiB."""
    times = []
    peak = 0.0
    for _ in range(repeat):
        with tempfile.TemporaryFile() as stderr:
            start = time.perf_counter()
            proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=stderr)
            # wait4 gives this child's own rusage (RUSAGE_CHILDREN would mix
            # in every earlier child, Kedro's included).
            _, status, usage = os.wait4(proc.pid, 0)
            elapsed = time.perf_counter() - start
            code = os.waitstatus_to_exitcode(status)
            if code != 0:
                stderr.seek(0)
                sys.exit(
                    f"bench_run: {' '.join(command[:3])} ... failed ({code}):\n"
                    f"{stderr.read().decode(errors='replace')[-2000:]}"
                )
        times.append(elapsed)
        peak = max(peak, usage.ru_maxrss / 1024)  # KiB on Linux
    return min(times), statistics.median(times), max(times), peak


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tandem", required=True)
    parser.add_argument("--kedro")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--kedro-sizes", default="1000")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    kedro_sizes = [int(s) for s in args.kedro_sizes.split(",") if s] if args.kedro else []

    print(f"{'tool':<7} {'nodes':>9} {'min':>10} {'median':>10} {'max':>10}  peak RSS")
    results = {}
    for n in sorted(set(sizes) | set(kedro_sizes)):
        with tempfile.TemporaryDirectory(prefix="tandem-bench-run-") as root:
            if n in sizes:
                spec = tandem_project(os.path.join(root, "tandem"), n)
                repeat = args.repeat if n <= 100_000 else 1
                command = [os.path.abspath(args.tandem), "-q", "run", "--spec", spec,
                           "--conf", os.path.join(root, "tandem", "conf")]
                lo, med, hi, rss = timed(command, root, repeat)
                results[("tandem", n)] = med
                print(f"{'tandem':<7} {n:>9} {lo:>9.4f}s {med:>9.4f}s {hi:>9.4f}s  {rss:7.1f} MiB")
            if n in kedro_sizes:
                project = kedro_project(os.path.join(root, "kedro"), n)
                env_command = [os.path.abspath(args.kedro), "run"]
                lo, med, hi, _ = timed(env_command, project, max(1, min(args.repeat, 3)))
                results[("kedro", n)] = med
                print(f"{'kedro':<7} {n:>9} {lo:>9.4f}s {med:>9.4f}s {hi:>9.4f}s")
    for n in kedro_sizes:
        if ("tandem", n) in results:
            ratio = results[("kedro", n)] / results[("tandem", n)]
            print(f"kedro / tandem at {n} nodes: {ratio:.0f}x")


if __name__ == "__main__":
    main()
