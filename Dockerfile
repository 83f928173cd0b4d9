# edge-xds control plane (global tier, regional relays) and the demo data plane
# (dist/src/demo: echo backend, load generator), one image.
#   docker build -t edge-xds:dev .
#   docker run --rm -p 8080:8080 -p 18000:18000 -v edge-xds-data:/data edge-xds:dev serve --db /data/edge-xds.db

# ---- build: compile TypeScript, then drop dev dependencies ----
FROM node:20-bookworm-slim AS build
# Toolchain for better-sqlite3 when no prebuilt binary matches.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY protos ./protos
COPY envoy ./envoy
COPY migrations ./migrations
RUN npm ci --no-audit --no-fund \
 && npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -f dist/.tsbuildinfo

# ---- runtime: node + compiled output only, non-root ----
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    EDGE_XDS_DB=/data/edge-xds.db
WORKDIR /app
COPY --from=build --chown=root:root /src/package.json ./package.json
COPY --from=build --chown=root:root /src/node_modules ./node_modules
COPY --from=build --chown=root:root /src/dist ./dist
COPY --from=build --chown=root:root /src/migrations ./migrations
COPY --from=build --chown=root:root /src/protos ./protos
COPY --from=build --chown=root:root /src/envoy ./envoy
# Mount points owned by the unprivileged user: named volumes mounted there
# start with this ownership (SQLite data, generated bootstraps).
RUN mkdir -p /data /bootstrap && chown node:node /data /bootstrap
USER node
# REST API, xDS (the CLI defaults of `edge-xds serve`).
EXPOSE 8080 18000
# Liveness of /healthz over HTTPS (secure mode, the default), else HTTP (--insecure). On loopback and
# without a credential, so the server certificate is not verified here (nothing secret is sent).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const port = process.env.EDGE_XDS_HTTP_PORT || 8080; const get = (m) => new Promise((done) => { const r = require(m).get({ host: '127.0.0.1', port, path: '/healthz', rejectUnauthorized: false, timeout: 2500 }, (res) => done(res.statusCode === 200)); r.on('error', () => done(false)); r.on('timeout', () => r.destroy()); }); get('https').then((ok) => ok || get('http')).then((ok) => process.exit(ok ? 0 : 1));"]
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["serve"]
