// The obvious L4 proxy on Node: each connection piped to an origin (round robin) both ways with `pipe`,
// no timeouts, no limits, no accounting. Not a proxy to deploy, and not a floor: Node's 'data' path reads
// into a new 64 KiB buffer each time, where Portico's TCP sessions reuse one (see relay-buffer.ts); it
// shows what a Node L4 proxy costs when written the usual way.
import { connect, createServer } from 'node:net';

const [port, ...origins] = process.argv.slice(2);
const upstreams = origins.map((o) => {
  const [host, p] = o.split(':');
  return { host, port: Number(p) };
});
let next = 0;

createServer({ noDelay: true, allowHalfOpen: true }, (client) => {
  const { host, port: upstreamPort } = upstreams[next++ % upstreams.length];
  const upstream = connect({ host, port: upstreamPort, noDelay: true, allowHalfOpen: true });
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
  client.pipe(upstream);
  upstream.pipe(client);
}).listen(Number(port), '127.0.0.1', () => console.log('ready'));
