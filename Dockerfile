# Two stages: build with dev dependencies, run with production ones only, as a non-root user.
FROM node:20.20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20.20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
USER 65532:65532
EXPOSE 8081
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["run", "--config", "/etc/athenz-agent/config.yaml"]
