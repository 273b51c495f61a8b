#!/usr/bin/env -S node --max-semi-space-size=16
// Only commander and the version load up front: each command imports what it needs when it runs
// (`portico --version` and `--help` answer without loading the config schema, the proxy or Kubernetes).
import { Command, InvalidArgumentError } from 'commander';
import type { Logger } from 'pino';
import { DEFAULT_ADMIN_URL } from './admin-url.ts';
import type { RunningPortico } from './commands/run.ts';
import { VERSION } from './version.ts';
import { WORKER_COMMAND } from './workers/worker-messages.ts';

function sampleRate(value: string): number {
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('must be a share between 0 and 1');
  return n;
}

function accessLogFormat(value: string): 'json' | 'combined' | 'console' {
  if (value === 'json' || value === 'combined' || value === 'console') return value;
  throw new InvalidArgumentError('must be json, combined or console (or give --access-log-template)');
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number of milliseconds');
  return n;
}

/** workers reads `--workers`: a count of 1 to 1,024, or `auto`. */
function workers(value: string): number | 'auto' {
  if (value === 'auto') return 'auto';
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1_024)
    throw new InvalidArgumentError('must be a count of 1 to 1024, or "auto" (one per core)');
  return n;
}

/** stopOnSignals drains `running` on SIGTERM or SIGINT and exits 0; a second signal exits at once. */
function stopOnSignals(running: RunningPortico, log: Logger, drainTimeoutMs: number | undefined): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    stopping = true;
    log.info(
      { signal, connections: running.proxy.connectionCount },
      'stopping: no new connections, draining in-flight requests',
    );
    running.stop(drainTimeoutMs).then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // As nginx: logrotate moves the access log file, then SIGUSR1 makes Portico (and its workers) open it again.
  process.on('SIGUSR1', () => {
    running.reopenLogs();
    log.info('access log reopened');
  });
}

const program = new Command()
  .name('portico')
  .description('Portico: an edge proxy and Kubernetes ingress controller for Node.js.')
  .version(VERSION, '-v, --version', 'print the version')
  .showHelpAfterError('(run "portico --help" for usage)');

/** collect gathers a repeated option's values. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

program
  .command('run')
  .description(
    "serve traffic as the config file (or, with --kubernetes, the cluster's Ingresses) says, following changes without a restart",
  )
  .option(
    '-c, --config <file>',
    'YAML or JSON config file (see docs/config.md); with --kubernetes, the base config (listeners, admin, limits)',
  )
  .option(
    '--access-log [file]',
    'write one JSON line per request to a file, or to standard output with no file or "-"',
  )
  .option('--access-log-sample <share>', 'log this share of requests, 0 to 1 (5xx always)', sampleRate, 1)
  .option(
    '--access-log-format <format>',
    'json, combined (nginx), or console (short, for a terminal); default json, or console on a terminal',
    accessLogFormat,
  )
  .option(
    '--access-log-template <template>',
    'a line of nginx-style $variables instead, e.g. \'$remote_addr [$time_local] "$request" $status $request_time\' (docs/admin.md)',
  )
  .option('--log-level <level>', 'fatal, error, warn, info, debug or trace', 'info')
  .option(
    '--drain-timeout-ms <ms>',
    'on SIGTERM/SIGINT, how long in-flight requests may finish (default: config shutdown.drainTimeoutMs)',
    positiveInteger,
  )
  .option(
    '--workers <count>',
    'data-plane worker processes, all on every listener, or "auto" for one per core (default: the config\'s workers, 1)',
    workers,
  )
  .option('--kubernetes', 'serve the Ingresses of the cluster (see docs/kubernetes.md)', false)
  .option(
    '--kubeconfig <file>',
    'kubeconfig file (default: in-cluster service account, then KUBECONFIG, then ~/.kube/config)',
  )
  .option('--context <name>', 'kubeconfig context (default: its current-context)')
  .option(
    '--ingress-class <name>',
    'class name accepted in the legacy kubernetes.io/ingress.class annotation',
    'portico',
  )
  .option('--controller <name>', 'IngressClass spec.controller served', 'portico.dev/ingress-controller')
  .option('--namespace <ns>', 'namespace to watch (repeat; default: all)', collect, [])
  .option('--selector <labels>', 'serve only Ingresses with these labels (team=web,tier!=internal)')
  .option(
    '--allow-external-name',
    'let Ingresses reach ExternalName Services (off: a way out of the cluster)',
    false,
  )
  .option(
    '--ssl-redirect',
    'redirect plain HTTP to HTTPS for hosts an Ingress has TLS for (off, as the Ingress conformance suite expects; per Ingress: portico.dev/ssl-redirect)',
    false,
  )
  .option(
    '--ingress-nginx-class <name>',
    'also serve the Ingresses of this ingress-nginx class (e.g. nginx) with its semantics and annotations (docs/migrate-from-ingress-nginx.md)',
  )
  .option(
    '--allow-unsafe-annotations',
    'serve ingress-nginx Ingresses whose security-relevant annotations (snippets, ModSecurity...) cannot be honoured, without them (off: they are not served)',
    false,
  )
  .option(
    '--gateway-controller-name <name>',
    'the GatewayClass controllerName served (docs/gateway-api.md)',
    'portico.dev/gateway-controller',
  )
  .option('--no-gateway-api', 'do not watch the Gateway API, even when its CRDs are installed')
  .option('--no-leader-election', 'write Ingress status and Events without a Lease (one instance only)')
  .option(
    '--election-namespace <ns>',
    "namespace of the leader Lease (default: POD_NAMESPACE or the service account's)",
  )
  .option('--election-id <name>', 'name of the leader Lease', 'portico-leader')
  .option('--publish-address <address>', 'IP or DNS name written to Ingress status (repeat)', collect, [])
  .option(
    '--publish-service <namespace/name>',
    "write this Service's load-balancer addresses to Ingress status",
  )
  .option(
    '--publish-pods <labels>',
    'write the node IPs of the ready pods with these labels (a hostNetwork DaemonSet)',
  )
  .option('--watch-idle-timeout-ms <ms>', 'recycle a watch silent for this long', positiveInteger)
  .addHelpText(
    'after',
    '\nExamples:\n  portico run --config examples/static/portico.yaml\n  portico run --kubernetes --publish-pods app.kubernetes.io/name=portico\n\nOn SIGTERM or SIGINT Portico stops accepting, lets in-flight requests finish, and exits 0.',
  )
  .action(
    async (options: {
      config?: string;
      accessLog?: string | true;
      accessLogSample: number;
      accessLogFormat?: 'json' | 'combined' | 'console';
      accessLogTemplate?: string;
      logLevel: string;
      drainTimeoutMs?: number;
      kubernetes: boolean;
      kubeconfig?: string;
      context?: string;
      ingressClass: string;
      controller: string;
      namespace: string[];
      selector?: string;
      allowExternalName: boolean;
      sslRedirect: boolean;
      ingressNginxClass?: string;
      allowUnsafeAnnotations: boolean;
      gatewayControllerName: string;
      gatewayApi: boolean;
      leaderElection: boolean;
      electionNamespace?: string;
      electionId: string;
      publishAddress: string[];
      publishService?: string;
      publishPods?: string;
      watchIdleTimeoutMs?: number;
      workers?: number | 'auto';
    }) => {
      const [{ pino }, { ConfigRejectedError, startPortico }, { PorticoDiscoveryError }] = await Promise.all([
        import('pino'),
        import('./commands/run.ts'),
        import('@portico/discovery/file'),
      ]);
      const log = pino({ level: options.logLevel, base: { pid: process.pid } });
      if (!options.kubernetes && options.config === undefined) {
        log.error("portico run needs --config <file>, or --kubernetes to serve the cluster's Ingresses");
        process.exitCode = 1;
        return;
      }
      try {
        const accessLog = options.accessLog === true ? '-' : options.accessLog;
        const running = await startPortico(
          {
            ...(options.config === undefined ? {} : { config: options.config }),
            ...(accessLog === undefined ? {} : { accessLog, accessLogSample: options.accessLogSample }),
            ...(options.accessLogTemplate !== undefined
              ? { accessLogFormat: { template: options.accessLogTemplate } }
              : options.accessLogFormat !== undefined
                ? { accessLogFormat: options.accessLogFormat }
                : {}),
            ...(options.workers === undefined ? {} : { workers: options.workers }),
            ...(options.kubernetes
              ? {
                  kubernetes: {
                    ...(options.kubeconfig === undefined ? {} : { kubeconfig: options.kubeconfig }),
                    ...(options.context === undefined ? {} : { context: options.context }),
                    ingressClass: options.ingressClass,
                    controller: options.controller,
                    namespaces: options.namespace,
                    ...(options.selector === undefined ? {} : { labelSelector: options.selector }),
                    allowExternalName: options.allowExternalName,
                    sslRedirect: options.sslRedirect,
                    ...(options.ingressNginxClass === undefined
                      ? {}
                      : { nginxClass: options.ingressNginxClass }),
                    allowUnsafeAnnotations: options.allowUnsafeAnnotations,
                    gatewayApi: options.gatewayApi,
                    gatewayControllerName: options.gatewayControllerName,
                    leaderElection: options.leaderElection,
                    ...(options.electionNamespace === undefined
                      ? {}
                      : { electionNamespace: options.electionNamespace }),
                    electionId: options.electionId,
                    publishAddresses: options.publishAddress,
                    ...(options.publishService === undefined
                      ? {}
                      : { publishService: options.publishService }),
                    ...(options.publishPods === undefined ? {} : { publishPods: options.publishPods }),
                    ...(options.watchIdleTimeoutMs === undefined
                      ? {}
                      : { watch: { watchIdleTimeoutMs: options.watchIdleTimeoutMs } }),
                  },
                }
              : {}),
          },
          log,
        );
        stopOnSignals(running, log, options.drainTimeoutMs);
      } catch (error) {
        if (error instanceof ConfigRejectedError) log.error(error.message);
        else if (error instanceof PorticoDiscoveryError) log.error({ code: error.code }, error.message);
        else log.error({ err: error }, (error as Error).message);
        process.exitCode = 1;
      }
    },
  );

// A data-plane worker of `portico run --workers N`, started by the primary over IPC; not for people.
program
  .command(WORKER_COMMAND, { hidden: true })
  .action(async () => (await import('./workers/data-plane-worker.ts')).runDataPlaneWorker());

program
  .command('cert')
  .description('certificates')
  .command('generate')
  .description('write a self-signed certificate and key (for tests and first runs; use a CA in production)')
  .option('--host <name>', 'DNS name, *.wildcard or IP the certificate names (repeat)', collect, [])
  .option('--days <days>', 'validity in days', (value: string) => Number.parseInt(value, 10), 365)
  .option('--cert <file>', 'certificate output file', 'tls.crt')
  .option('--key <file>', 'private key output file', 'tls.key')
  .action(async (options: { host: string[]; days: number; cert: string; key: string }) => {
    const { certGenerateCommand } = await import('./commands/cert-generate.ts');
    process.exitCode = await certGenerateCommand(
      { hosts: options.host, days: options.days, certOut: options.cert, keyOut: options.key },
      (line) => console.log(line),
    );
  });

program
  .command('validate')
  .description(
    'check a config file and print every problem with its line and column; exit 0 if valid, 1 if not',
  )
  .argument('<file>', 'YAML or JSON config file')
  .action(async (file: string) => {
    const { validateCommand } = await import('./commands/validate.ts');
    process.exitCode = await validateCommand(file, (line) => console.log(line));
  });

program
  .command('migrate')
  .description(
    "say, per Ingress of ingress-nginx's class, what each nginx.ingress.kubernetes.io/ annotation becomes in Portico; exit 1 if any Ingress would fail closed",
  )
  .argument('[files...]', 'YAML or JSON files of Ingresses (default: read them from the cluster)')
  .option('--kubeconfig <file>', 'kubeconfig file (default: in-cluster, KUBECONFIG, ~/.kube/config)')
  .option('--context <name>', 'kubeconfig context')
  .option('--namespace <ns>', 'only this namespace (default: all)')
  .option('--ingress-class <name>', "ingress-nginx's class", 'nginx')
  .option('--json', 'print the report as JSON', false)
  .addHelpText(
    'after',
    '\nExamples:\n  portico migrate ingresses.yaml\n  kubectl get ingress -A -o yaml | portico migrate /dev/stdin\n  portico migrate --context prod --json',
  )
  .action(
    async (
      files: string[],
      options: {
        kubeconfig?: string;
        context?: string;
        namespace?: string;
        ingressClass: string;
        json: boolean;
      },
    ) => {
      const { migrateCommand } = await import('./commands/migrate.ts');
      process.exitCode = await migrateCommand({ files, ...options }, (line) => console.log(line));
    },
  );

program
  .command('explain')
  .description(
    'tell which route serves a URL and why every other route does not; exit 0 routed, 2 for a 404, 1 on error',
  )
  .requiredOption('-c, --config <file>', 'YAML or JSON config file')
  .option('--json', 'print the explanation as JSON', false)
  .argument('<url>', 'the request to explain, as http://host/path')
  .addHelpText(
    'after',
    '\nExample:\n  portico explain --config portico.yaml http://shop.example.com/api/users',
  )
  .action(async (url: string, options: { config: string; json: boolean }) => {
    const { explainCommand } = await import('./commands/explain.ts');
    process.exitCode = await explainCommand(options.config, url, options.json, (line) => console.log(line));
  });

const adminOption = ['--admin <url>', 'admin API of the running Portico', DEFAULT_ADMIN_URL] as const;
const jsonOption = ['--json', "print the admin API's answer as JSON", false] as const;
const view = (admin: string, run: () => Promise<unknown>) => async () => {
  try {
    const code = await run();
    process.exitCode = typeof code === 'number' ? code : 0;
  } catch (error) {
    const { code, message } = error as Error & { code?: string };
    console.error(
      code === 'ECONNREFUSED'
        ? `nothing answers at ${admin}: is Portico running with an admin API? Add \`admin: { port: 9901 }\` to its config (loopback only by default), or give --admin <url>.`
        : `cannot read the admin API at ${admin}: ${message}`,
    );
    process.exitCode = 1;
  }
};

program
  .command('status')
  .description('show the config in force, readiness, listeners and connections of a running Portico')
  .option(...adminOption)
  .option(...jsonOption)
  .action((options: { admin: string; json: boolean }) =>
    view(options.admin, async () =>
      (await import('./commands/views.ts')).statusView(options.admin, (l) => console.log(l), options.json),
    )(),
  );

program
  .command('routes')
  .description('list the routes of a running Portico')
  .option(...adminOption)
  .option(...jsonOption)
  .action((options: { admin: string; json: boolean }) =>
    view(options.admin, async () =>
      (await import('./commands/views.ts')).routesView(options.admin, (l) => console.log(l), options.json),
    )(),
  );

program
  .command('endpoints')
  .description("show a service's endpoints: state, weight, requests in flight, failures, latency")
  .argument('<service>', 'service name')
  .option(...adminOption)
  .option(...jsonOption)
  .action((service: string, options: { admin: string; json: boolean }) =>
    view(options.admin, async () =>
      (await import('./commands/views.ts')).endpointsView(
        options.admin,
        service,
        (l) => console.log(l),
        options.json,
      ),
    )(),
  );

program
  .command('demo')
  .description(
    'start three demo backends and Portico in front of them (examples/static/portico.yaml), with the admin API and its dashboard',
  )
  .action(async () => {
    await (await import('./commands/demo.ts')).runDemo();
  });

await program.parseAsync(process.argv);
