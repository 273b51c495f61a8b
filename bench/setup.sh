#!/usr/bin/env bash
# Installs what `pnpm bench` measures against and with: nginx, HAProxy, wrk, h2load, perf (Debian packages), and the
# Node peers (http-proxy, @fastify/http-proxy) through the workspace install.
set -euo pipefail
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq nginx-light haproxy wrk curl nghttp2-client linux-perf
# nginx-light starts a default server on :80 when installed; the benchmark runs its own instances.
$SUDO systemctl stop nginx 2>/dev/null || $SUDO service nginx stop 2>/dev/null || true
cd "$(dirname "$0")/.."
npx -y pnpm@12.18.0 install
