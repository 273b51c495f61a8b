import type { ChallengeAnswers } from '../acme/challenge-sink.ts';
import type { AcmeAnswers } from './worker-messages.ts';

/**
 * WorkerChallenges holds the ACME challenge answers of `portico run --workers N` in the primary and gives
 * the whole set to every worker after each change (a worker started later gets it too): with
 * SO_REUSEPORT the CA's validation reaches any of them.
 */
export class WorkerChallenges implements ChallengeAnswers {
  readonly #workers: { sendAcme(answers: AcmeAnswers): void };
  readonly #http = new Map<string, string>();
  readonly #alpn = new Map<string, readonly [cert: string, key: string]>();

  constructor(workers: { sendAcme(answers: AcmeAnswers): void }) {
    this.#workers = workers;
  }

  set(token: string, keyAuthorization: string): void {
    this.#http.set(token, keyAuthorization);
    this.#send();
  }

  delete(token: string): void {
    if (this.#http.delete(token)) this.#send();
  }

  setTlsAlpn(host: string, cert: string, key: string): void {
    this.#alpn.set(host.toLowerCase(), [cert, key]);
    this.#send();
  }

  deleteTlsAlpn(host: string): void {
    if (this.#alpn.delete(host.toLowerCase())) this.#send();
  }

  holdsTlsAlpn(host: string): boolean {
    return this.#alpn.has(host.toLowerCase());
  }

  #send(): void {
    this.#workers.sendAcme({
      http: [...this.#http],
      alpn: [...this.#alpn].map(([host, [cert, key]]) => [host, cert, key] as const),
    });
  }
}
