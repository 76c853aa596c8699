# One image for every scoreq process: `scoreq worker`, `scoreq api`, `scoreq run …`.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc tsconfig.base.json tsconfig.json ./
COPY libs libs
COPY apps apps
COPY test/tsconfig.json test/tsconfig.json
RUN npm ci && npx tsc -b libs/* apps/* && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app /app
# Overnight runs started over HTTP keep their files here (a volume in docker-compose.yml);
# created now so a fresh named volume is owned by the unprivileged user.
RUN mkdir -p /data/runs && chown node:node /data/runs
ENV SCOREQ_RUNS_DIR=/data/runs
USER node
ENTRYPOINT ["node", "apps/cli/dist/src/main.js"]
CMD ["worker"]
