# syntax=docker/dockerfile:1
# itb as a container: `docker build -t itb .`, then `docker run itb --help`. The image runs
# `itb serve` by default (see deploy/compose.yaml and docs/deploy.md); its working directory,
# /var/lib/itb, is the data volume: a config's relative data_folder ("./data") lands there.

# --- build: compile TypeScript with the dev dependencies, pack the package, and install the
# package with its production dependencies only, as a user would (`npm install <tarball>`).
# talib and better-sqlite3 are native modules compiled here (python3, make, g++).
FROM node:20-bookworm-slim AS build
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json README.md ./
COPY bin ./bin
COPY src ./src
COPY web ./web
COPY configs ./configs
COPY sample ./sample
RUN npm run build && npm pack --ignore-scripts --pack-destination /tmp
WORKDIR /opt/itb
RUN echo '{"name":"itb-runtime","private":true}' > package.json \
  && npm install /tmp/itb-*.tgz --omit=dev --no-audit --no-fund \
  && npm cache clean --force

# --- runtime: Node and the installed package, no compiler, no dev dependencies.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
  PATH=/opt/itb/node_modules/.bin:$PATH
COPY --from=build /opt/itb /opt/itb
RUN groupadd --system --gid 10001 itb \
  && useradd --system --uid 10001 --gid itb --home-dir /var/lib/itb --shell /usr/sbin/nologin itb \
  && mkdir -p /var/lib/itb /etc/itb \
  && chown itb:itb /var/lib/itb
WORKDIR /var/lib/itb
VOLUME ["/var/lib/itb"]
USER itb:itb
# /healthz, /readyz and /metrics of `itb serve` (serve.address; the command below listens on all
# interfaces so that Prometheus and the health check reach it)
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["itb"]
CMD ["serve", "--config", "/etc/itb/itb.jsonc", "--address", "0.0.0.0:9464"]
