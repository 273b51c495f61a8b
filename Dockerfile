# The Portico image: docker build -t portico .
# Build stage: install the workspace, type-check and compile to dist/, then `pnpm deploy` the binary with
# its production dependencies only (about 40 MB).
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY . .
RUN npx -y pnpm@12.18.0 install --frozen-lockfile \
 && npx -y pnpm@12.18.0 run build \
 && npx -y pnpm@12.18.0 --filter portico deploy --prod --legacy /out

FROM node:24-bookworm-slim
LABEL org.opencontainers.image.title="portico" \
      org.opencontainers.image.description="Edge proxy and Kubernetes ingress controller for Node.js" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /app
COPY --from=build /out /app
# Not root. Binding 80/443 needs CAP_NET_BIND_SERVICE, which the manifests add (and nothing else); since
# Kubernetes grants no ambient capabilities, a non-root process only gets it from a file capability on the
# binary it runs (as ingress-nginx's image sets on nginx). portico-node is a copy of node with that one
# capability; `node` itself stays plain. packages/cli/test/privileged-bind.test.ts checks the mechanism.
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends libcap2-bin \
 && cp /usr/local/bin/node /app/portico-node \
 && setcap cap_net_bind_service=+ep /app/portico-node \
 && apt-get purge -y -qq libcap2-bin \
 && rm -rf /var/lib/apt/lists/*
USER 10001
EXPOSE 80 443
# The flags main.js's shebang gives node: a 16 MiB young generation keeps RSS after a large sync about
# 90 MiB lower (docs/benchmarks.md).
ENTRYPOINT ["/app/portico-node", "--max-semi-space-size=16", "/app/dist/main.js"]
CMD ["run", "--kubernetes"]
