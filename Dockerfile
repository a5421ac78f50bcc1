# The coordinated daemon as an image: `docker build -t coordinated .`, then
# `docker run -p 5932:5932 -p 5980:5980 -v coordinate-data:/data coordinated` (embedded PGlite in /data) or
# add `--database-url postgres://…` after the image name. See docs/daemon.md.
#
# Stage 1 builds the package as `npm pack` makes it; stage 2 installs that tarball with its
# production dependencies only, the same steps test/package/pack.test.ts takes.
FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts scripts
COPY migrations migrations
COPY src src
COPY ui ui
RUN mkdir tarball && npm pack --pack-destination tarball

FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    COORDINATE_CACHE_DIR=/app/cache
WORKDIR /app
COPY --from=build /src/tarball/ tarball/
RUN echo '{"name":"coordinated-image","private":true}' > package.json \
 && npm install --omit=dev --no-audit --no-fund ./tarball/coordinate-ts-*.tgz \
 && rm -rf tarball \
 && npm cache clean --force
# The migrated PGlite template, made once here so that a container's first start on a new
# data directory copies it instead of running initdb and the migrations.
RUN node --input-type=module -e "const { openCoordinate } = await import('coordinate-ts'); await (await openCoordinate({ dataDir: 'template', leaseSweepMs: 0 })).close()" \
 && rm -rf template \
 && mkdir -p /data \
 && chown -R node:node /data /app/cache
USER node
VOLUME /data
EXPOSE 5932 5980
# node itself is PID 1: SIGTERM from `docker stop` reaches the daemon, which drains and exits
# (at most --shutdown-timeout + 1 s later; give docker stop a longer -t).
ENTRYPOINT ["node", "/app/node_modules/coordinate-ts/dist/src/cli/coordinated.js"]
# The HTTP API answers on every interface of the container: set COORDINATE_HTTP_TOKEN when you
# publish its port.
CMD ["--listen", "0.0.0.0:5932", "--http", "0.0.0.0:5980", "--data-dir", "/data"]
