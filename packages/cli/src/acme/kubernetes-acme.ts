import { X509Certificate } from 'node:crypto';
import type { AcmeHostView } from '@portico/admin';
import type { AcmeConfig } from '@portico/config';
import {
  type AcmeRequest,
  DEFAULT_WATCH_OPTIONS,
  KubeApiError,
  type KubeObject,
  type KubernetesDiscovery,
  Reflector,
} from '@portico/discovery';
import type { Logger } from 'pino';
import { orderCertificate } from './acme-order.ts';
import {
  alpnCertificate,
  type Challenge,
  type ChallengeAnswers,
  type ChallengeSink,
} from './challenge-sink.ts';
import { type OrderAttempts, orderFailed, orderSucceeded } from './order-backoff.ts';
import { RenewalInfo } from './renewal-info.ts';

/**
 * CHALLENGES_CONFIGMAP holds the answers of orders in progress, for every instance to give: an HTTP-01
 * token's key authorization under the token, a TLS-ALPN-01 key authorization under `tls-alpn-01.<host>`
 * (each instance makes the challenge certificate from it, so no key travels).
 */
export const CHALLENGES_CONFIGMAP = 'portico-acme-challenges';
/** ACCOUNT_SECRET holds the ACME account key, in Portico's namespace. */
export const ACCOUNT_SECRET = 'portico-acme-account';
/** PROPAGATION_MS is how long the leader waits after its own watch shows a token, for the others' watches. */
const PROPAGATION_MS = 300;
const ALPN_PREFIX = 'tls-alpn-01.';

/** entryOf is a challenge's key in the ConfigMap (HTTP-01 tokens are base64url: they hold no dot). */
function entryOf(challenge: Challenge): string {
  return challenge.type === 'http-01' ? challenge.token : `${ALPN_PREFIX}${challenge.host}`;
}

interface ConfigMap extends KubeObject {
  readonly data?: Readonly<Record<string, string>>;
}

interface RequestState extends OrderAttempts {
  issued: number;
  notAfter: string | undefined;
  /** written is the certificate this instance last wrote, until the Secret watch shows it. */
  written: { notAfter: string; dueAt: number; hosts: string; pem: string } | undefined;
  renewAt: string | undefined;
  /** wildcardsReported: the wildcards left out were logged and posted as an Event (once). */
  wildcardsReported: boolean;
}

/**
 * KubernetesAcme gets and renews, from an ACME CA, the certificates Ingresses ask for
 * (`KubernetesDiscovery.acmeRequests`), for a fleet of instances: the Lease leader alone orders and
 * renews; challenge answers (HTTP-01 or TLS-ALPN-01) go to a ConfigMap (`portico-acme-challenges`)
 * every instance watches and answers from, so the CA may reach any edge node; the certificate is written to the `kubernetes.io/tls`
 * Secret the Ingress names, which every instance then serves through the usual Secret path. The account
 * key is a Secret too. Renewal within the CA's ARI window, else at `renewAtRatio` of the lifetime; after a failure, `retryMinMs` doubled
 * up to 6 hours, the current certificate serving meanwhile.
 */
export class KubernetesAcme {
  readonly #config: AcmeConfig;
  readonly #discovery: KubernetesDiscovery;
  readonly #log: Logger;
  readonly #namespace: string;
  readonly #states = new Map<string, RequestState>();
  readonly #renewal: RenewalInfo;
  #challenges: Reflector<ConfigMap> | undefined;
  #answers: ChallengeAnswers | undefined;
  #timer: NodeJS.Timeout | undefined;
  #checking: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(config: AcmeConfig, discovery: KubernetesDiscovery, log: Logger) {
    this.#config = config;
    this.#discovery = discovery;
    this.#log = log;
    this.#namespace = discovery.options.connection.namespace;
    this.#renewal = new RenewalInfo(config.directoryUrl, config.caFile);
  }

  /** start watches the challenge ConfigMap into `answers` (every instance) and checks certificates (the leader). */
  start(answers: ChallengeAnswers): void {
    let held = new Map<string, string>();
    this.#challenges = new Reflector<ConfigMap>(
      this.#discovery.client,
      {
        kind: 'ConfigMap',
        prefix: '/api/v1',
        plural: 'configmaps',
        namespace: this.#namespace,
        fieldSelector: `metadata.name=${CHALLENGES_CONFIGMAP}`,
      },
      {
        transform: (o) => o,
        onChange: () => {
          const data = this.#challenges?.store.get(`${this.#namespace}/${CHALLENGES_CONFIGMAP}`)?.data ?? {};
          const now = new Map(Object.entries(data));
          for (const entry of held.keys()) {
            if (now.has(entry)) continue;
            if (entry.startsWith(ALPN_PREFIX)) answers.deleteTlsAlpn(entry.slice(ALPN_PREFIX.length));
            else answers.delete(entry);
          }
          for (const [entry, keyAuthorization] of now) {
            if (held.get(entry) === keyAuthorization) continue;
            if (entry.startsWith(ALPN_PREFIX)) void this.#holdAlpn(answers, entry, keyAuthorization);
            else answers.set(entry, keyAuthorization);
          }
          held = now;
        },
      },
      DEFAULT_WATCH_OPTIONS,
    );
    this.#answers = answers;
    this.#challenges.start();
    void this.check();
    this.#timer = setInterval(
      () => void this.check(),
      Math.min(this.#config.checkIntervalMs, this.#config.retryMinMs),
    );
    this.#timer.unref();
  }

  /** #holdAlpn makes the challenge certificate for a `tls-alpn-01.<host>` entry, unless it went meanwhile. */
  async #holdAlpn(answers: ChallengeAnswers, entry: string, keyAuthorization: string): Promise<void> {
    const host = entry.slice(ALPN_PREFIX.length);
    try {
      const { cert, key } = await alpnCertificate(host, keyAuthorization);
      const current = this.#challenges?.store.get(`${this.#namespace}/${CHALLENGES_CONFIGMAP}`)?.data?.[
        entry
      ];
      if (current === keyAuthorization) answers.setTlsAlpn(host, cert, key);
    } catch (error) {
      this.#log.warn(
        { host },
        `ACME: TLS-ALPN-01 challenge certificate for ${host}: ${(error as Error).message}`,
      );
    }
  }

  /** check orders what is missing or due, when this instance leads (one check at a time). */
  check(): Promise<void> {
    this.#checking = this.#checking.then(() => this.#check()).catch(() => {});
    return this.#checking;
  }

  async #check(): Promise<void> {
    if (this.#stopped || !this.#discovery.leading) return;
    const now = Date.now();
    const requests = this.#discovery.acmeRequests();
    // Secrets no Ingress or Gateway asks for any more leave the view (their certificates stay).
    const asked = new Set(requests.map((r) => `${r.namespace}/${r.secretName}`));
    for (const key of this.#states.keys()) if (!asked.has(key)) this.#states.delete(key);
    for (const request of requests) {
      const key = `${request.namespace}/${request.secretName}`;
      let state = this.#states.get(key);
      if (state === undefined) {
        state = {
          issued: 0,
          failed: 0,
          failures: 0,
          retryAt: 0,
          lastError: undefined,
          notAfter: undefined,
          written: undefined,
          renewAt: undefined,
          wildcardsReported: false,
        };
        this.#states.set(key, state);
      }
      if (request.wildcards !== undefined && !state.wildcardsReported) {
        state.wildcardsReported = true;
        const message = `ACME: ${request.wildcards.join(', ')} left out of the certificate for Secret ${key}: a wildcard needs DNS-01, which Portico does not do (the other hosts are ordered)`;
        this.#log.warn({ secret: key, wildcards: request.wildcards, for: request.origin }, message);
        this.#discovery.recordEvent({
          code: 'PORTICO_KUBE_ACME_ORDER_FAILED',
          object: request.object,
          field: request.field,
          message,
        });
      }
      if (now < state.retryAt || this.#stopped) continue;
      const stored = this.#current(key, request.hosts);
      const current =
        state.written !== undefined &&
        state.written.hosts === request.hosts.join(',') &&
        (stored === undefined || stored.dueAt < state.written.dueAt)
          ? state.written
          : stored;
      state.notAfter = current?.notAfter;
      if (current !== undefined) {
        const due = await this.#renewal.dueAt(current.pem, current.dueAt);
        state.renewAt = new Date(due).toISOString();
        if (now < due) continue;
      }
      try {
        await this.#order(request, current === undefined ? 'issue' : 'renew', state);
        orderSucceeded(state);
      } catch (error) {
        const wait = orderFailed(state, error as Error, this.#config.retryMinMs);
        this.#discovery.recordEvent({
          code: 'PORTICO_KUBE_ACME_ORDER_FAILED',
          object: request.object,
          field: request.field,
          message: `ACME order for ${request.hosts.join(', ')} (Secret ${key}) failed: ${(error as Error).message}`,
        });
        this.#log.warn(
          { secret: key, hosts: request.hosts, failures: state.failures, retryInMs: wait },
          `ACME order for ${request.hosts.join(', ')} (Secret ${key}) failed: ${(error as Error).message}; next try in ${Math.round(wait / 1000)} s`,
        );
      }
    }
  }

  /** #current reads the Secret's certificate: when it is due for renewal, or undefined when it is missing or names other hosts. */
  #current(
    key: string,
    hosts: readonly string[],
  ): { notAfter: string; dueAt: number; pem: string } | undefined {
    const crt = this.#discovery.tlsSecret(key)?.data?.['tls.crt'];
    if (crt === undefined) return undefined;
    try {
      const pem = Buffer.from(crt, 'base64').toString();
      const leaf = new X509Certificate(pem);
      if (!hosts.every((h) => leaf.checkHost(h) !== undefined)) return undefined;
      const from = new Date(leaf.validFrom).getTime();
      const to = new Date(leaf.validTo).getTime();
      return {
        notAfter: new Date(to).toISOString(),
        dueAt: from + (to - from) * this.#config.renewAtRatio,
        pem,
      };
    } catch {
      return undefined;
    }
  }

  async #order(request: AcmeRequest, why: 'issue' | 'renew', state: RequestState): Promise<void> {
    const key = `${request.namespace}/${request.secretName}`;
    await this.#ownedSecret(request); // before the CA is asked: a refused Secret costs no order
    this.#log.info(
      { secret: key, hosts: request.hosts, why, for: request.origin },
      `ACME: ordering a certificate for ${request.hosts.join(', ')} (${why}, for ${request.origin})`,
    );
    const { cert, key: privateKey } = await orderCertificate(request.hosts, {
      directoryUrl: this.#config.directoryUrl,
      email: this.#config.email,
      caFile: this.#config.caFile,
      accountKey: (create) => this.#accountKey(create),
      challenge: request.challenge ?? this.#config.challenge,
      challenges: this.#sink(),
    });
    await this.#writeSecret(request, cert, privateKey);
    const leaf = new X509Certificate(cert);
    state.issued++;
    state.lastError = undefined;
    state.notAfter = new Date(leaf.validTo).toISOString();
    const from = new Date(leaf.validFrom).getTime();
    const to = new Date(leaf.validTo).getTime();
    state.written = {
      notAfter: state.notAfter,
      dueAt: from + (to - from) * this.#config.renewAtRatio,
      hosts: request.hosts.join(','),
      pem: cert,
    };
    this.#log.info(
      { secret: key, hosts: request.hosts, notAfter: state.notAfter },
      `ACME: certificate for ${request.hosts.join(', ')} ${why === 'issue' ? 'issued' : 'renewed'} into Secret ${key}, valid until ${state.notAfter}`,
    );
  }

  /** #sink publishes challenge answers in the ConfigMap, and waits until this instance's watch has them. */
  #sink(): ChallengeSink {
    const path = `/api/v1/namespaces/${encodeURIComponent(this.#namespace)}/configmaps`;
    const patch = async (data: Record<string, string | null>) => {
      try {
        await this.#discovery.client.json({
          method: 'PATCH',
          path: `${path}/${CHALLENGES_CONFIGMAP}`,
          contentType: 'application/merge-patch+json',
          body: { data },
        });
      } catch (error) {
        if (!(error instanceof KubeApiError) || error.status !== 404) throw error;
        await this.#discovery.client.json({
          method: 'POST',
          path,
          body: {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: CHALLENGES_CONFIGMAP, namespace: this.#namespace },
            data,
          },
        });
      }
    };
    return {
      set: async (challenge) => {
        const entry = entryOf(challenge);
        await patch({ [entry]: challenge.keyAuthorization });
        const deadline = Date.now() + 5_000;
        const seen = () =>
          challenge.type === 'http-01'
            ? this.#challenges?.store.get(`${this.#namespace}/${CHALLENGES_CONFIGMAP}`)?.data?.[entry] !==
              undefined
            : this.#answers?.holdsTlsAlpn(challenge.host) === true;
        while (!seen() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
        await new Promise((resolve) => setTimeout(resolve, PROPAGATION_MS));
      },
      delete: async (challenge) => {
        await patch({ [entryOf(challenge)]: null });
      },
    };
  }

  async #accountKey(create: () => Promise<Buffer>): Promise<Buffer> {
    const path = `/api/v1/namespaces/${encodeURIComponent(this.#namespace)}/secrets`;
    try {
      const secret = await this.#discovery.client.json<{ data?: Record<string, string> }>({
        path: `${path}/${ACCOUNT_SECRET}`,
      });
      const stored = secret.data?.['account.key'];
      if (stored !== undefined) return Buffer.from(stored, 'base64');
    } catch (error) {
      if (!(error instanceof KubeApiError) || error.status !== 404) throw error;
    }
    const key = await create();
    await this.#discovery.client.json({
      method: 'POST',
      path,
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'Opaque',
        metadata: { name: ACCOUNT_SECRET, namespace: this.#namespace },
        data: { 'account.key': key.toString('base64') },
      },
    });
    return key;
  }

  async #writeSecret(request: AcmeRequest, cert: string, key: Buffer): Promise<void> {
    const path = `/api/v1/namespaces/${encodeURIComponent(request.namespace)}/secrets`;
    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: {
        name: request.secretName,
        namespace: request.namespace,
        labels: { 'app.kubernetes.io/managed-by': 'portico' },
        annotations: { 'portico.dev/acme-hosts': request.hosts.join(',') },
      },
      data: { 'tls.crt': Buffer.from(cert).toString('base64'), 'tls.key': key.toString('base64') },
    };
    const resourceVersion = await this.#ownedSecret(request);
    if (resourceVersion === undefined) {
      await this.#discovery.client.json({ method: 'POST', path, body });
      return;
    }
    await this.#discovery.client.json({
      method: 'PUT',
      path: `${path}/${encodeURIComponent(request.secretName)}`,
      body: { ...body, metadata: { ...body.metadata, resourceVersion } },
    });
  }

  /**
   * #ownedSecret returns the resourceVersion of the request's Secret, or undefined when there is none;
   * it throws when the Secret exists and is not Portico's (labelled `app.kubernetes.io/managed-by:
   * portico`): an Ingress must not make Portico overwrite a Secret someone else manages.
   */
  async #ownedSecret(request: AcmeRequest): Promise<string | undefined> {
    const name = `${request.namespace}/${request.secretName}`;
    try {
      const current = await this.#discovery.client.json<{
        metadata: { resourceVersion: string; labels?: Record<string, string> };
      }>({
        path: `/api/v1/namespaces/${encodeURIComponent(request.namespace)}/secrets/${encodeURIComponent(request.secretName)}`,
      });
      if (current.metadata.labels?.['app.kubernetes.io/managed-by'] !== 'portico')
        throw new Error(
          `Secret ${name} exists and is not managed by Portico (no label app.kubernetes.io/managed-by=portico): name another secretName in the Ingress's spec.tls, or delete the Secret`,
        );
      return current.metadata.resourceVersion;
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  view(): AcmeHostView[] {
    return [...this.#states].map(([secret, s]) => ({
      host: secret,
      issued: s.issued,
      failed: s.failed,
      lastError: s.lastError,
      notAfter: s.notAfter,
      renewAt: s.renewAt,
    }));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#challenges?.stop();
    await this.#renewal.close();
  }
}
