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
# Not root; binding 80/443 needs CAP_NET_BIND_SERVICE, which the manifests add (and nothing else).
USER 10001
EXPOSE 80 443
ENTRYPOINT ["node", "/app/dist/main.js"]
CMD ["run", "--kubernetes"]
