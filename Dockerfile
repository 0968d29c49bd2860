# syntax=docker/dockerfile:1
# ABAXUS: one image for every role. The command picks it: `api` (default), `projector`,
# `migrate`, or any other `abaxus` subcommand (`docker run abaxus tenants list`).
#
#   docker build -t abaxus .
#   docker run -e DATABASE_URL=postgres://… -p 8080:8080 abaxus            # the API
#   docker run -e DATABASE_URL=postgres://… abaxus projector                # the projector
#
# Debian (glibc) rather than Alpine: the KurrentDB client's native bridge and the embedded
# PostgreSQL binaries ship glibc builds first.
ARG NODE_VERSION=20.19

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
# Dependencies first: this layer is reused until package-lock.json changes.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    PROJECTOR_METRICS_PORT=9464 \
    ABAXUS_DATA_DIR=/var/lib/abaxus
WORKDIR /app
# package.json carries the "imports" map (#domain, #ledger, #platform -> dist/…) Node resolves at run time.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
# Migrations are read at run time (applied on start and by `migrate`), found by walking up from dist/.
COPY --from=build /app/infra/migrations ./infra/migrations
# The data dir only matters without DATABASE_URL (embedded PostgreSQL) and for a generated admin key.
RUN mkdir -p /var/lib/abaxus && chown node:node /var/lib/abaxus
USER node
VOLUME ["/var/lib/abaxus"]
EXPOSE 8080 9464
# No HEALTHCHECK here: the right probe depends on the role (API /readyz, projector /metrics);
# docker-compose.yml and the Helm chart declare one per service.
ENTRYPOINT ["node", "dist/apps/cli/src/main.js"]
CMD ["api"]
