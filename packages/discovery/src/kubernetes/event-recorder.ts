import type { KubeClient } from './kube-client.ts';
import type { KubeIssue } from './kube-issue.ts';

/** MAX_REMEMBERED_EVENTS bounds the memory of issues already reported (oldest forgotten first). */
export const MAX_REMEMBERED_EVENTS = 10_000;

/**
 * EventRecorder reports issues as core/v1 Warning Events on the objects they are about, so
 * `kubectl describe ingress` shows them. Each issue is reported once per object (by uid, code, field and
 * message), not again on every resync; reporting never blocks or fails the caller.
 */
export class EventRecorder {
  readonly #client: KubeClient;
  readonly #component: string;
  readonly #instance: string;
  readonly #reported = new Set<string>();
  /** sent and failed count Events posted and posts that failed. */
  sent = 0;
  failed = 0;

  constructor(client: KubeClient, instance: string, component = 'portico') {
    this.#client = client;
    this.#instance = instance;
    this.#component = component;
  }

  /** record posts Events for the issues not reported before; it resolves when the posts are done. */
  async record(issues: readonly KubeIssue[]): Promise<void> {
    const posts: Promise<void>[] = [];
    for (const issue of issues) {
      const key = `${issue.object.uid ?? issue.object.name}|${issue.code}|${issue.field}|${issue.message}`;
      if (this.#reported.has(key)) continue;
      this.#reported.add(key);
      if (this.#reported.size > MAX_REMEMBERED_EVENTS) {
        const oldest = this.#reported.values().next().value;
        if (oldest !== undefined) this.#reported.delete(oldest);
      }
      posts.push(this.#post(issue, key));
    }
    await Promise.all(posts);
  }

  async #post(issue: KubeIssue, key: string): Promise<void> {
    const namespace = issue.object.namespace ?? 'default';
    const now = new Date().toISOString();
    try {
      await this.#client.json({
        method: 'POST',
        path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`,
        timeoutMs: 5_000,
        body: {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { generateName: `${issue.object.name}.`, namespace },
          involvedObject: {
            apiVersion: issue.object.apiVersion,
            kind: issue.object.kind,
            namespace,
            name: issue.object.name,
            ...(issue.object.uid === undefined ? {} : { uid: issue.object.uid }),
            ...(issue.object.resourceVersion === undefined
              ? {}
              : { resourceVersion: issue.object.resourceVersion }),
            fieldPath: issue.field,
          },
          reason: issue.code,
          message: issue.message,
          type: 'Warning',
          source: { component: this.#component },
          reportingComponent: 'portico.dev/ingress-controller',
          reportingInstance: this.#instance,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
      this.sent++;
    } catch {
      // Forget it, so that the next resync tries again.
      this.#reported.delete(key);
      this.failed++;
    }
  }
}
