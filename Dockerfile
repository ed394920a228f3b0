# Image for our worker and API (docker-compose.yml runs it twice with different commands).
# TypeScript runs through tsx, as with `npm start`; the worker bundles the workflow code at start.
FROM node:20-bookworm-slim

WORKDIR /app
ENV NODE_ENV=production

COPY package.json package-lock.json ./
# patch-package applies patches/ in npm ci's postinstall (docs/faults.md, "The driver's monitor and a restarted server").
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Every room the entry points load (test/lint/dockerfile.test.ts checks this list against their imports).
COPY tsconfig.json ./
COPY common ./common
COPY workflows ./workflows
COPY activities ./activities
COPY workers ./workers
COPY store ./store
COPY broker ./broker
COPY codec ./codec
COPY webhooks ./webhooks
COPY api ./api
COPY bootstrap ./bootstrap

# The one directory a process writes in: SAGA_CALL_LIMITS's generated interceptor module (workers/interceptors/call-limits.ts).
RUN mkdir -p .data && chown node:node .data
USER node
EXPOSE 3000
# One process, no npm/sh wrapper, so that SIGTERM reaches the program (see docker-compose.yml).
CMD ["node", "--import", "tsx", "bootstrap/api-main.ts"]
