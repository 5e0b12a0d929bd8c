# fedgate container image: build stage compiles TypeScript, runtime stage holds only what runs.
# Node: the current LTS line (override with --build-arg NODE_VERSION=...).
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:${NODE_VERSION}-bookworm-slim
# xmlsec1 verifies large signed metadata aggregates (src/metadata/xmlsec.ts).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tini xmlsec1 \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production FEDGATE_CONFIG=/app/config/fedgate.yaml
WORKDIR /app
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json LICENSE ./
COPY bin ./bin
COPY config ./config
COPY metadata ./metadata
# data/ holds the keys and secrets generated on first start: the only place the process writes.
RUN ln -s /app/bin/fedgate.js /usr/local/bin/fedgate \
 && mkdir -p /app/data && chown node:node /app/data
# The shipped configuration is the local demo (it listens on 127.0.0.1). For real use mount yours,
# e.g. at /etc/fedgate/fedgate.yaml with FEDGATE_CONFIG pointing there (server.host: 0.0.0.0,
# server.baseUrl: the public URL), your metadata under /app/metadata and a volume on /app/data.
USER node
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--", "fedgate"]
CMD ["serve"]
