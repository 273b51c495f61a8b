/** LATENCY_BUCKETS_MS are the upper bounds of the latency histograms, in milliseconds. */
export const LATENCY_BUCKETS_MS = [
  1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000,
] as const;

/** LatencyHistogram counts samples per bucket (cumulative at read time) and their sum, in ms. */
export class LatencyHistogram {
  /** counts[i] counts samples <= LATENCY_BUCKETS_MS[i] and above the previous bound; the last is +Inf. */
  readonly counts = new Float64Array(LATENCY_BUCKETS_MS.length + 1);
  sum = 0;
  count = 0;

  observe(ms: number): void {
    let i = 0;
    while (i < LATENCY_BUCKETS_MS.length && ms > LATENCY_BUCKETS_MS[i]!) i++;
    this.counts[i]!++;
    this.sum += ms;
    this.count++;
  }
}

/**
 * TrafficStats are a route's or a service's own counters, kept by name across config changes and read
 * at scrape time: responses by status class (index 1-5) and latency histograms (whole request, and
 * upstream time to first byte). Updating them is a few array writes per request.
 */
export class TrafficStats {
  /** responses[c] counts responses with status c xx; responses[0] counts answers with no status. */
  readonly responses = new Float64Array(6);
  readonly duration = new LatencyHistogram();
  readonly ttfb = new LatencyHistogram();
}

/** StatsRegistry keeps one `TrafficStats` per name. */
export class StatsRegistry {
  readonly #stats = new Map<string, TrafficStats>();

  get(name: string): TrafficStats {
    let stats = this.#stats.get(name);
    if (!stats) {
      stats = new TrafficStats();
      this.#stats.set(name, stats);
    }
    return stats;
  }

  entries(): IterableIterator<[string, TrafficStats]> {
    return this.#stats.entries();
  }
}
