import type { AdminSource, TrafficEntry } from './admin-source.ts';

/** HISTORY_WINDOW_MS is how far back the dashboard's charts reach: 15 minutes. */
export const HISTORY_WINDOW_MS = 15 * 60_000;

/** SeriesPoint is one sample of one route's or service's traffic: rates per second and p99 in ms. */
export interface SeriesPoint {
  readonly rps: number;
  readonly rate4xx: number;
  readonly rate5xx: number;
  readonly p99: number | null;
}

/** HistoryPoint is one sample of the whole proxy: rates per second, latency quantiles in ms, connections. */
export interface HistoryPoint extends SeriesPoint {
  /** t is the sample's time, in ms since the epoch. */
  readonly t: number;
  /** unrouted is requests per second no route matched (404) or refused before routing. */
  readonly unrouted: number;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly active: number;
}

/** HistoryView is what `GET /history` returns: the samples of the last 15 minutes, oldest first. */
export interface HistoryView {
  readonly intervalMs: number;
  readonly points: readonly HistoryPoint[];
  /** routes and services hold one series per name, aligned with `points` (null before it existed). */
  readonly routes: Readonly<Record<string, readonly (SeriesPoint | null)[]>>;
  readonly services: Readonly<Record<string, readonly (SeriesPoint | null)[]>>;
}

interface Reading {
  readonly at: number;
  readonly requests: number;
  readonly routes: Map<string, TrafficEntry>;
  readonly services: Map<string, TrafficEntry>;
}

/** quantile reads a quantile from a (non-cumulative) histogram's counts: a bucket's upper bound, in ms. */
export function quantile(bounds: readonly number[], counts: readonly number[], q: number): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (seen >= q * total) return i < bounds.length ? bounds[i]! : (bounds.at(-1) ?? null);
  }
  return null;
}

/** delta is `now - before` per bucket, never below 0 (a counter that started again after a change). */
function delta(now: readonly number[], before: readonly number[] | undefined): number[] {
  return now.map((n, i) => Math.max(0, n - (before?.[i] ?? 0)));
}

function pointOf(now: TrafficEntry, before: TrafficEntry | undefined, seconds: number): SeriesPoint {
  const responses = delta(now.responses, before?.responses);
  const total = responses.reduce((a, b) => a + b, 0);
  return {
    rps: total / seconds,
    rate4xx: (responses[4] ?? 0) / seconds,
    rate5xx: (responses[5] ?? 0) / seconds,
    p99: quantile(now.duration.bucketsMs, delta(now.duration.counts, before?.duration.counts), 0.99),
  };
}

/**
 * MetricsHistory keeps the last 15 minutes of the proxy's traffic for the dashboard's charts: every
 * `intervalMs` it reads the counters and histograms the admin API already serves (the data plane pays
 * nothing: the same scrape-time views as `/metrics`), and stores rates and quantiles of the interval.
 */
export class MetricsHistory {
  readonly intervalMs: number;
  readonly #source: AdminSource;
  readonly #capacity: number;
  readonly #points: HistoryPoint[] = [];
  readonly #routes = new Map<string, (SeriesPoint | null)[]>();
  readonly #services = new Map<string, (SeriesPoint | null)[]>();
  #last: Reading | undefined;
  #timer: NodeJS.Timeout | undefined;
  #sampling = false;

  constructor(source: AdminSource, intervalMs: number) {
    this.#source = source;
    this.intervalMs = intervalMs;
    this.#capacity = Math.max(2, Math.ceil(HISTORY_WINDOW_MS / intervalMs));
  }

  start(): void {
    void this.sample();
    this.#timer = setInterval(() => void this.sample(), this.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** sample reads the views now and appends a point (the first reading only sets the baseline). */
  async sample(): Promise<void> {
    if (this.#sampling) return;
    this.#sampling = true;
    try {
      await this.#source.refresh?.();
      const at = Date.now();
      const counters = this.#source.counters();
      const traffic = this.#source.traffic();
      const reading: Reading = {
        at,
        requests: counters.requests,
        routes: new Map(traffic.routes.map((r) => [r.name, r])),
        services: new Map(traffic.services.map((s) => [s.name, s])),
      };
      const last = this.#last;
      this.#last = reading;
      if (last === undefined) return;
      const seconds = Math.max(0.001, (at - last.at) / 1000);
      const all = { responses: [0, 0, 0, 0, 0, 0], counts: [] as number[], bounds: [] as readonly number[] };
      const series = (
        now: Map<string, TrafficEntry>,
        before: Map<string, TrafficEntry>,
        into: Map<string, (SeriesPoint | null)[]>,
        sum: boolean,
      ) => {
        for (const [name, entry] of now) {
          const previous = before.get(name);
          const point = pointOf(entry, previous, seconds);
          let list = into.get(name);
          if (list === undefined) {
            list = new Array(this.#points.length).fill(null);
            into.set(name, list);
          }
          list.push(point);
          if (!sum) continue;
          const responses = delta(entry.responses, previous?.responses);
          for (let i = 0; i < 6; i++) all.responses[i]! += responses[i] ?? 0;
          const counts = delta(entry.duration.counts, previous?.duration.counts);
          all.bounds = entry.duration.bucketsMs;
          counts.forEach((c, i) => {
            all.counts[i] = (all.counts[i] ?? 0) + c;
          });
        }
        for (const [name, list] of into) if (!now.has(name)) list.push(null);
      };
      series(reading.routes, last.routes, this.#routes, true);
      series(reading.services, last.services, this.#services, false);
      const routed = all.responses.reduce((a, b) => a + b, 0);
      const requests = Math.max(0, reading.requests - last.requests);
      this.#points.push({
        t: at,
        rps: requests / seconds,
        unrouted: Math.max(0, requests - routed) / seconds,
        rate4xx: all.responses[4]! / seconds,
        rate5xx: all.responses[5]! / seconds,
        p50: quantile(all.bounds, all.counts, 0.5),
        p95: quantile(all.bounds, all.counts, 0.95),
        p99: quantile(all.bounds, all.counts, 0.99),
        active: counters.activeConnections,
      });
      if (this.#points.length > this.#capacity) {
        this.#points.shift();
        for (const map of [this.#routes, this.#services])
          for (const [name, list] of map) {
            list.shift();
            if (list.every((p) => p === null)) map.delete(name);
          }
      }
    } finally {
      this.#sampling = false;
    }
  }

  view(): HistoryView {
    return {
      intervalMs: this.intervalMs,
      points: this.#points,
      routes: Object.fromEntries(this.#routes),
      services: Object.fromEntries(this.#services),
    };
  }
}
