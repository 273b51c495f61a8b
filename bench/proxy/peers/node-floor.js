// The floor for a Node proxy on net.Socket streams: no parsing beyond finding the response's
// Content-Length, no validation, no header rewriting, one pooled upstream connection per request in
// flight. Not a proxy to deploy (it trusts both sides completely): it shows what Portico's strict parse
// and rewrite cost above what Node's streams cost anyway. Keep-alive GETs answered with Content-Length only.
// With `--tls <cert.pem> <key.pem>` first it terminates TLS (node:tls, as Portico does): the floor of HTTPS.
import { constants } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, createServer as createTcpServer } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';

const args = process.argv.slice(2);
const tls = args[0] === '--tls' ? { cert: readFileSync(args[1]), key: readFileSync(args[2]) } : undefined;
const [port, ...origins] = tls === undefined ? args : args.slice(3);
const createServer = (options, onConnection) =>
  tls === undefined
    ? createTcpServer(options, onConnection)
    : createTlsServer({ ...options, ...tls, secureOptions: constants.SSL_OP_NO_TICKET }, onConnection); // tickets off, as for the others
const upstreams = origins.map((o) => {
  const [host, p] = o.split(':');
  return { host, port: Number(p), idle: [] };
});
const HEAD_END = Buffer.from('\r\n\r\n');
let next = 0;

createServer({ noDelay: true }, (client) => {
  client.on('error', () => {});
  client.on('data', (request) => {
    const upstream = upstreams[next++ % upstreams.length];
    let socket = upstream.idle.pop();
    if (socket === undefined) {
      socket = connect({ host: upstream.host, port: upstream.port, noDelay: true });
      socket.on('error', () => client.destroy());
    }
    let remaining = -1; // body bytes still to come; -1 until the head is seen
    socket.removeAllListeners('data');
    socket.on('data', (chunk) => {
      client.write(chunk);
      if (remaining < 0) {
        const end = chunk.indexOf(HEAD_END);
        const length = /content-length: *(\d+)/i.exec(chunk.toString('latin1', 0, end));
        remaining = Number(length?.[1] ?? 0) - (chunk.length - end - 4);
      } else remaining -= chunk.length;
      if (remaining <= 0) {
        socket.removeAllListeners('data');
        upstream.idle.push(socket);
      }
    });
    socket.write(request);
  });
}).listen(Number(port), '127.0.0.1', () => console.log('ready'));
