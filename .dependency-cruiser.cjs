// The layers of the house, enforced (`npm run lint:layers`, part of `npm test`). docs/architecture.md draws
// the same picture. From the bottom up:
//   gen/ (generated from proto/)  core/  registry/  connectors/  observability/  gateway/ | cli/
// simulators/ stand beside the house (they play the agencies) and use only core/.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "No import cycles: a cycle hides which room depends on which.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "lower-rooms-do-not-reach-up",
      comment: "connectors/, registry/, observability/, simulators/ and core/ never import the gateway process or the command line.",
      severity: "error",
      from: { path: "^(core|connectors|registry|observability|simulators)/" },
      to: { path: "^(gateway|cli)/" },
    },
    {
      name: "connectors-do-not-observe",
      comment: "Connectors report through injected events (BreakerEvents); metrics and logs subscribe from outside.",
      severity: "error",
      from: { path: "^connectors/" },
      to: { path: "^observability/" },
    },
    {
      name: "core-is-the-bottom",
      comment: "core/ (the error catalogue, its wire mapping, identifier rules) depends on the contract only.",
      severity: "error",
      from: { path: "^core/" },
      to: { path: "^(cli|connectors|gateway|observability|registry|simulators|scripts|test|examples)/" },
    },
    {
      name: "registry-below-connectors",
      comment: "The registry validates connector options through an interface it owns (registry/catalogue.ts EndpointKinds).",
      severity: "error",
      from: { path: "^registry/" },
      to: { path: "^(connectors|observability)/" },
    },
    {
      name: "cli-and-gateway-are-separate-programs",
      comment: "The command line talks to the gateway over gRPC, never through its code; the gateway never runs the CLI.",
      severity: "error",
      from: { path: "^(cli|gateway)/" },
      // A program may of course import its own folder ($1 is the folder the import comes from).
      to: { path: "^(cli|gateway)/", pathNot: "^$1/" },
    },
    {
      name: "simulators-stand-apart",
      comment: "The simulated agencies are outside parties: they share only the identifier rules and the contract.",
      severity: "error",
      from: { path: "^simulators/" },
      to: { path: "^(connectors|registry|observability)/" },
    },
    {
      name: "generated-code-stands-alone",
      comment: "gen/ is build output from proto/ and imports only libraries and itself.",
      severity: "error",
      from: { path: "^gen/" },
      to: { path: "^(?!gen/|node_modules/)" },
    },
    {
      name: "product-does-not-import-tests",
      severity: "error",
      from: { pathNot: "^test/" },
      to: { path: "^test/" },
    },
    {
      name: "product-uses-runtime-dependencies",
      comment: "What `npm start` runs must not need a devDependency.",
      severity: "error",
      from: { path: "^(core|cli|gateway|connectors|registry|observability|simulators)/" },
      to: { dependencyTypes: ["npm-dev"], dependencyTypesNot: ["type-only"] },
    },
    {
      name: "resolvable",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default", "types"] },
  },
};
