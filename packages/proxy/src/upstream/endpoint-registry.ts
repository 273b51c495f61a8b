import { EndpointState, endpointKey } from './endpoint-state.ts';
import type { UpstreamTls } from './upstream-tls.ts';

/**
 * EndpointRegistry keeps one `EndpointState` per endpoint across config changes, so pooled connections and
 * counters survive a change that keeps the endpoint.
 */
export class EndpointRegistry {
  readonly #states = new Map<string, EndpointState>();

  /**
   * get returns the state of `address:port` (reached over `tls` when given: such an endpoint is a different
   * one from the plain one, with its own pool), creating it when new.
   */
  get(address: string, port: number, tls?: UpstreamTls): EndpointState {
    const key =
      tls === undefined ? endpointKey(address, port) : `${endpointKey(address, port)}|tls:${tls.id}`;
    let state = this.#states.get(key);
    if (!state || state.retired) {
      state = new EndpointState(address, port, tls);
      this.#states.set(key, state);
    }
    return state;
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
