/**
 * AvailabilityClock counts availability changes of the endpoints that share it (health check verdicts,
 * ejections and their ends, maintenance), so a service recounts its available endpoints only when the
 * count moved. Each proxy's endpoint registry owns one: no state is shared between proxies in a process.
 */
export class AvailabilityClock {
  /** value is the number of changes so far. */
  value = 0;

  /** tick records one change. */
  tick(): void {
    this.value++;
  }
}
