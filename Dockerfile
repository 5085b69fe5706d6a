# syntax=docker/dockerfile:1.7
# Shipgate image: build the TypeScript in one stage, run with production dependencies only.
# Trivy and ZAP are deliberately absent: in a cluster they run as Kubernetes Jobs from their
# official images (SHIPGATE_EXECUTOR=kubernetes).
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are copied.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workers ./workers
# The web console: built by the same `npm run build` into dist/web, served by `shipgate serve`.
COPY web ./web
RUN npm run build && npm prune --omit=dev --ignore-scripts
# The SBOM of exactly what ships: the pruned tree, with devDependencies dropped from package.json
# first, because `npm sbom --omit dev` otherwise loses production packages a dev one also reaches
# (npm/cli#7909). scripts/generate-sbom.sh does the same in CI.
RUN npm pkg delete devDependencies \
  && npm sbom --sbom-format cyclonedx --omit dev > /app/sbom.cdx.json

# kustomize from its official image, so no download script and no checksum to keep by hand.
FROM registry.k8s.io/kustomize/kustomize:v5.5.0 AS kustomize

FROM ${NODE_IMAGE} AS runtime
RUN apt-get update \
  && apt-get install -y --no-install-recommends git tini ca-certificates openssh-client bubblewrap \
  && rm -rf /var/lib/apt/lists/*
COPY --from=kustomize /app/kustomize /usr/local/bin/kustomize
WORKDIR /app
ENV NODE_ENV=production \
    PORT=3000 \
    HOME=/tmp \
    SHIPGATE_DATA_DIR=/tmp/shipgate
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY schemas ./schemas
# What the image contains, for scanners and auditors (CycloneDX JSON; docs/dependencies.md).
COPY --from=build /app/sbom.cdx.json /usr/share/shipgate/sbom.cdx.json
# bubblewrap sandboxes gates under SHIPGATE_EXECUTOR=local (it needs user namespaces: on
# Kubernetes prefer SHIPGATE_EXECUTOR=kubernetes; see docs/security.md).
# The image's own `node` user (uid 1000); files stay root-owned, so the app cannot modify itself
# and runs with a read-only root filesystem (only /tmp is written: mount an emptyDir there).
USER 1000:1000
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/livez').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# tini reaps git and kustomize children and forwards SIGTERM, so graceful shutdown runs.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "dist/src/cli.js"]
CMD ["serve"]
