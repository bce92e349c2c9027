# syntax=docker/dockerfile:1
# The Estelam image. Its default command runs the gateway; `node simulators/demo-agencies/main.ts` runs the
# demo agencies from the same image (docker-compose.yml does both). Node runs the TypeScript sources as
# they are (type stripping); gen/ is generated during `npm ci` by the prepare script. No secret is baked
# in: the audit key and every other setting come from the environment at run time.
FROM node:24-slim

WORKDIR /app
RUN chown node:node /app
USER node

# Dependencies first, so that editing the sources does not re-run npm ci. The prepare script generates
# gen/ from proto/ with buf from node_modules, so the protos and the generator must be there before it.
# Dev dependencies (buf, protoc-gen-es) are needed for that step only and are pruned after it.
COPY --chown=node:node package.json package-lock.json ./
COPY --chown=node:node proto/ proto/
COPY --chown=node:node scripts/generate.ts scripts/generate.ts
RUN npm ci --include=dev --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund \
 && npm cache clean --force

COPY --chown=node:node . .
RUN mkdir -p var/audit

# Inside a container the servers listen on every interface; publish the ports with care.
ENV ESTELAM_GRPC_ADDRESS=0.0.0.0:50051 \
    ESTELAM_HTTP_ADDRESS=0.0.0.0:8080

EXPOSE 50051 8080
CMD ["node", "gateway/main.ts"]
