// http-proxy (node-http-proxy) as people deploy it: node:http server, keep-alive agent to the origin.
import { Agent, createServer } from 'node:http';
import httpProxy from 'http-proxy';

const [port, ...origins] = process.argv.slice(2);
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
const proxy = httpProxy.createProxyServer({ agent });
let next = 0;
proxy.on('error', (_err, _req, res) => {
  res.writeHead?.(502);
  res.end();
});
createServer((req, res) =>
  proxy.web(req, res, { target: `http://${origins[next++ % origins.length]}` }),
).listen(Number(port), '127.0.0.1', () => console.log('ready'));
