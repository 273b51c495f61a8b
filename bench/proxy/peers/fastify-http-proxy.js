// @fastify/http-proxy as people deploy it: one upstream (it takes one), undici pool underneath.

import proxy from '@fastify/http-proxy';
import Fastify from 'fastify';

const [port, origin] = process.argv.slice(2);
const app = Fastify({ logger: false });
await app.register(proxy, { upstream: `http://${origin}` });
await app.listen({ host: '127.0.0.1', port: Number(port) });
console.log('ready');
