// What `npm start` prints once the gateway is up: where it listens and how to call it.
import type { DemoAgencies } from "../simulators/demo-agencies/server.ts";
import type { RunningGateway } from "./app.ts";
import { bufCurlCommand, DEMO_ADMIN_KEY, DEMO_EXAMPLES } from "./demo-examples.ts";

export function demoBanner(gateway: RunningGateway, agencies: Pick<DemoAgencies, "url" | "grpcAddress">): string {
  const lines = [
    "",
    "Estelam is running in demo mode.",
    `  gRPC      ${gateway.grpcAddress}  (estelam.inquiry.v1.InquiryService, estelam.registry.v1.RegistryService, estelam.operator.v1.OperatorService, grpc.health.v1.Health, reflection)`,
    `  status    ${gateway.httpUrl}/status  (which inquiries are online; English: /status?lang=en; scripts/estelam status with the admin key)`,
    `  HTTP      ${gateway.httpUrl}/metrics  /healthz  /readyz`,
    `  agencies  ${agencies.url}  (demo agencies over REST and SOAP; control API at /_control/agencies)`,
    `            ${agencies.grpcAddress}  (demo agencies over gRPC, with reflection)`,
    `  audit     ${gateway.journal === undefined ? "OFF: no evidence is kept" : `journal ${gateway.journal.dir}${gateway.shipper === undefined ? " (set KAFKA_BROKERS to ship it to Kafka)" : ", shipped to Kafka"}`}`,
    `  registry  revision ${gateway.registry.record().revision} in ${gateway.database.kind === "pglite" ? `the embedded database ${gateway.database.location}` : `PostgreSQL ${gateway.database.location}`}`,
    `            change it with: ESTELAM_API_KEY=${DEMO_ADMIN_KEY} scripts/estelam registry --help (README, "Register an agency")`,
    "",
    "Ask an inquiry from another terminal (in this folder):",
  ];
  for (const example of DEMO_EXAMPLES) lines.push("", `# ${example.title}`, bufCurlCommand(example, gateway.grpcAddress));
  lines.push(
    "",
    `List the services: npx buf curl --protocol grpc --http2-prior-knowledge --list-methods http://${gateway.grpcAddress}`,
    "Stop with Ctrl-C.",
    "",
  );
  return `${lines.join("\n")}\n`;
}
