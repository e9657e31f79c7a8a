"""crmsim benchmarks: ratios measured in one run, never asserted by a test.

    python benchmarks/run.py                      # 10,000 customers (the default)
    python benchmarks/run.py --scale 100000 1000000   # also 100k and 1M customers

Prints, for the retail baseline:

* the model's SimPy events per second against a *bare SimPy loop* with the same number of
  processes, each replaying exactly the wake-ups its customer had in the model (the ceiling:
  the same SimPy work with no model code) — the ratio is what the model's Python costs;
* customers per second (simulated year, tables included);
* memory per customer: the peak traced by ``tracemalloc`` while the model runs and tables are
  built, divided by the number of customers;
* the speed-up of ``compare`` with 2 worker processes against serial;
* with ``--scale``, customers per second and memory per customer at larger populations;
* the same retail work written for Mesa 3 (``benchmarks/mesa_retail.py``, if Mesa is installed:
  ``pip install "mesa>=3,<4"``, a benchmark-only dependency) against crmsim.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import simpy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import crmsim  # noqa: E402
from crmsim.model.market import Market  # noqa: E402
from crmsim.simulation import as_seed_sequence  # noqa: E402


def scenario(customers: int):
    return crmsim.load_scenario("retail_baseline").with_overrides(
        {"customers.initial": customers, "acquisition.rate": 0.0}
    )


def _events_scheduled(env: simpy.Environment) -> int:
    """SimPy numbers every scheduled event; the next number is the count so far."""
    return next(env._eid)  # noqa: SLF001 — a benchmark may peek


def time_model(sc, seed: int = 1):
    """CPU seconds of one model run (customer creation included), its SimPy events and the
    number of wake-ups (purchases) of each customer."""
    gc.collect()
    start = time.process_time()
    market = Market(sc, as_seed_sequence(seed)).run()
    seconds = time.process_time() - start
    kinds = np.frombuffer(market.recorder.kind, dtype=np.int8)
    ids = np.frombuffer(market.recorder.customer, dtype=np.int64)
    purchase_like = np.isin(kinds, [1, 2])
    wakeups = np.bincount(ids[purchase_like], minlength=len(market.customers))
    return seconds, _events_scheduled(market.env), wakeups


def time_bare_loop(wakeups, horizon: float, seed: int = 1):
    """The same processes and wake-ups with nothing but SimPy: each process draws its own
    exponential gaps and sleeps (creation included, as for the model)."""
    rng = random.Random(seed)
    mean_gap = horizon / (max(wakeups.mean(), 1) + 1)
    counts = wakeups.tolist()
    gc.collect()
    start = time.process_time()
    env = simpy.Environment()

    def process(n):
        for _ in range(n):
            yield env.timeout(rng.expovariate(1 / mean_gap))

    for n in counts:
        env.process(process(n))
    env.run()
    seconds = time.process_time() - start
    return seconds, _events_scheduled(env)


def memory_per_customer(sc, customers: int) -> tuple[float, float]:
    gc.collect()
    tracemalloc.start()
    market = Market(sc, as_seed_sequence(2)).run()
    model_peak = tracemalloc.get_traced_memory()[1]
    del market
    gc.collect()
    tracemalloc.reset_peak()
    crmsim.simulate(sc, seed=2)
    total_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return model_peak / customers, total_peak / customers


def time_scale(customers: int) -> tuple[float, float]:
    """CPU seconds and customers per second of a full simulate() (tables included)."""
    sc = scenario(customers)
    gc.collect()
    start = time.process_time()
    result = crmsim.simulate(sc, seed=3)
    _ = result.events, result.customers, result.timeseries
    seconds = time.process_time() - start
    return seconds, customers / seconds


def time_mesa(customers: int) -> tuple[float, int] | None:
    """CPU seconds of the same retail work written for Mesa 3 (None if Mesa is missing)."""
    try:
        import mesa_retail
    except ImportError:
        return None
    gc.collect()
    start = time.process_time()
    model = mesa_retail.run(customers)
    return time.process_time() - start, model.churned


def compare_speedup(customers: int, replications: int) -> tuple[float, float]:
    base = crmsim.load_scenario("retail_baseline").with_overrides(
        {"customers.initial": customers})
    better = crmsim.load_scenario("retail_better_service").with_overrides(
        {"customers.initial": customers})
    pair = {"base": base, "better": better}
    timings = []
    for executor in ("serial", "processes"):
        start = time.perf_counter()
        crmsim.compare(pair, replications=replications, seed=0, executor=executor, jobs=2,
                       progress=False)
        timings.append(time.perf_counter() - start)
    return timings[0], timings[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-compare", action="store_true")
    parser.add_argument("--skip-mesa", action="store_true")
    parser.add_argument("--scale", type=int, nargs="*", default=[],
                        help="also time these population sizes, e.g. --scale 100000 1000000")
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args(argv)

    sc = scenario(args.customers)
    print(f"crmsim {crmsim.__version__} benchmark — retail baseline, {args.customers:,} customers, "
          f"{sc.horizon:g} {sc.time_unit}s, Python {sys.version.split()[0]}, "
          f"SimPy {simpy.__version__}")

    # interleaved repeats, best of each: this machine's CPU time varies by ±30% run to run
    model_times, bare_times = [], []
    for _ in range(args.repeats):
        model_s, model_events, wakeups = time_model(sc)
        bare_s, bare_events = time_bare_loop(wakeups, sc.horizon)
        model_times.append(model_s)
        bare_times.append(bare_s)
    model_s, bare_s = min(model_times), min(bare_times)
    model_eps, bare_eps = model_events / model_s, bare_events / bare_s
    start = time.perf_counter()
    crmsim.simulate(sc, seed=1)
    total_s = time.perf_counter() - start
    print(f"  CPU time, best of {args.repeats} interleaved runs each:")
    print(f"  model run:        {model_s:7.2f} s  {model_events:>10,} SimPy events  "
          f"{model_eps:>10,.0f} events/s")
    print(f"  bare SimPy loop:  {bare_s:7.2f} s  {bare_events:>10,} SimPy events  "
          f"{bare_eps:>10,.0f} events/s  ({len(wakeups):,} processes)")
    print(f"  ratio model/bare events per second: {model_eps / bare_eps:.2f}  (target >= 0.35, "
          "goal 0.5)")
    print(f"  customers per second (run + tables): {args.customers / total_s:,.0f}")

    if not args.skip_memory:
        model_mem, total_mem = memory_per_customer(sc, args.customers)
        print(f"  memory per customer: {model_mem:,.0f} B while running, {total_mem:,.0f} B "
              "peak with tables  (target <= 2,048 B)")

    for size in args.scale:
        seconds, rate = time_scale(size)
        print(f"  {size:>9,} customers x 1 year: {seconds:7.1f} s CPU, {rate:,.0f} customers/s")
    if args.scale:
        model_mem, total_mem = memory_per_customer(scenario(max(args.scale)), max(args.scale))
        print(f"  memory per customer at {max(args.scale):,}: {model_mem:,.0f} B while running, "
              f"{total_mem:,.0f} B with tables  (goal <= 1,536 B)")

    mesa_result = None if args.skip_mesa else time_mesa(args.customers)
    if mesa_result is None and not args.skip_mesa:
        print("  Mesa comparison skipped: pip install 'mesa>=3,<4' (benchmark-only)")
    elif mesa_result is not None:
        mesa_s, mesa_churned = mesa_result
        print(f"  the same retail work in Mesa 3 (daily steps): {mesa_s:.2f} s CPU; crmsim "
              f"{model_s:.2f} s: crmsim is {mesa_s / model_s:.1f}x faster  (goal >= 2x)")

    if not args.skip_compare:
        serial_s, pool_s = compare_speedup(min(args.customers, 4000), replications=4)
        print(f"  compare 2 scenarios x 4 replications: serial {serial_s:.2f} s, 2 processes "
              f"{pool_s:.2f} s, speed-up {serial_s / pool_s:.2f}x  (goal >= 1.8x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
