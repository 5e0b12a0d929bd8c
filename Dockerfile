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
ENV NODE_ENV=production FEDGATE_CONFIG=/etc/fedgate/fedgate.yaml
WORKDIR /app
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json LICENSE ./
COPY bin ./bin
COPY config/fedgate.yaml /etc/fedgate/fedgate.yaml
COPY metadata ./metadata
RUN ln -s /app/bin/fedgate.js /usr/local/bin/fedgate \
 && mkdir -p /var/lib/fedgate && chown node:node /var/lib/fedgate
# Mount your configuration at /etc/fedgate/fedgate.yaml (set server.host: 0.0.0.0, server.baseUrl to
# the public URL, dataDir: /var/lib/fedgate) and your metadata under /app/metadata.
USER node
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--", "fedgate"]
CMD ["serve"]
