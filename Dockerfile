# Image for our worker and API (docker-compose.yml runs it twice with different commands).
# TypeScript runs through tsx, as with `npm start`; the worker bundles the workflow code at start.
FROM node:20-bookworm-slim

WORKDIR /app
ENV NODE_ENV=production

COPY package.json package-lock.json ./
# patch-package applies patches/ in npm ci's postinstall (docs/faults.md, "The driver's monitor and a restarted server").
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY tsconfig.json ./
COPY common ./common
COPY workflows ./workflows
COPY activities ./activities
COPY workers ./workers
COPY store ./store
COPY broker ./broker
COPY api ./api
COPY bootstrap ./bootstrap

USER node
EXPOSE 3000
# One process, no npm/sh wrapper, so that SIGTERM reaches the program (see docker-compose.yml).
CMD ["node", "--import", "tsx", "bootstrap/api-main.ts"]
