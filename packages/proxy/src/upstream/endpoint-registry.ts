import { AvailabilityClock } from './availability-clock.ts';
import { EndpointState, endpointKey } from './endpoint-state.ts';
import type { UpstreamTls } from './upstream-tls.ts';

/**
 * EndpointRegistry keeps one `EndpointState` per service and endpoint across config changes, so pooled
 * connections, health and counters survive a change that keeps the endpoint in its service.
 */
export class EndpointRegistry {
  readonly #states = new Map<string, EndpointState>();
  /** availability counts availability changes of this registry's endpoints. */
  readonly availability = new AvailabilityClock();

  /**
   * get returns the state of `address:port` in `service` (reached over `tls` when given, and over HTTP/2
   * when `http2`: such an endpoint is a different one from the plain one, with its own pool), creating it
   * when new.
   */
  get(service: string, address: string, port: number, tls?: UpstreamTls, http2 = false): EndpointState {
    const endpoint = endpointKey(address, port);
    let key = tls === undefined ? `${service}|${endpoint}` : `${service}|${endpoint}|tls:${tls.id}`;
    if (http2) key += '|h2';
    let state = this.#states.get(key);
    if (!state || state.retired) {
      state = new EndpointState(address, port, tls, service, this.availability);
      state.registryKey = key;
      this.#states.set(key, state);
    }
    return state;
  }

  /** retire retires and forgets each of `endpoints` still registered, and returns those it retired. */
  retire(endpoints: Iterable<EndpointState>): EndpointState[] {
    const retired: EndpointState[] = [];
    for (const state of endpoints) {
      if (state.retired || this.#states.get(state.registryKey) !== state) continue;
      state.retired = true;
      this.#states.delete(state.registryKey);
      retired.push(state);
    }
    return retired;
  }

  /** retireAllBut retires and forgets every endpoint not in `keep`, and returns those retired. */
  retireAllBut(keep: ReadonlySet<EndpointState>): EndpointState[] {
    const retired: EndpointState[] = [];
    for (const [key, state] of this.#states) {
      if (keep.has(state)) continue;
      state.retired = true;
      this.#states.delete(key);
      retired.push(state);
    }
    return retired;
  }

  /** all lists the live endpoint states. */
  all(): EndpointState[] {
    return [...this.#states.values()];
  }
}
