# A small production image running `sextant serve` as a non-root user.
# Build: docker build -t sextant .   Run: docker run -p 4000:4000 -e HOST=0.0.0.0 -e SEXTANT_WAREHOUSE=postgres://… sextant
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json console.vite.config.ts ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY schema ./schema
COPY examples ./examples
RUN mkdir -p /app/data && chown -R node:node /app/data
USER node
EXPOSE 4000
# A worker serves /health/* on SEXTANT_METRICS_PORT (unset: no HTTP at all, and the check fails: set it, or disable the check).
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "const e=process.env;fetch('http://127.0.0.1:'+((e.SEXTANT_ROLE==='worker'&&e.SEXTANT_METRICS_PORT)||e.PORT||4000)+'/health/live').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
CMD ["node", "bin/sextant.js", "serve"]
