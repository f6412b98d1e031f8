/**
 * Layer rules, checked by `npm run lint` (docs/architecture.md explains the layers).
 * Dependencies point inward: handlers and the local stack wire adapters into services,
 * resolvers call services, and the event domain and the prediction engine import nothing
 * that does I/O. Paths are relative to the repository root.
 */

/** The pure domain: event rules and the prediction engine. */
const DOMAIN = '^src/(events|realtime)/';

/**
 * The privacy core: the deletion ports and plan, pure like the domain. Only its engine subfolder
 * talks to a store.
 */
const PRIVACY_CORE = { path: '^src/privacy/', pathNot: '^src/privacy/dynamodb/' };

/** Adapters (each engine's subfolder, and the shared AWS client code): the only code that talks to an engine. */
const ADAPTERS = [
  '^src/sinks/lake/(local|firehose)/',
  '^src/sinks/warehouse/(duckdb|redshift)/',
  '^src/sinks/hot-tier/dynamodb/',
  '^src/stream/kinesis/',
  '^src/access/(dynamodb|memory)/',
  '^src/privacy/dynamodb/',
  '^src/aws/',
];

/** A package's modules, whether resolved into node_modules or not (then the bare name is the path). */
const packages = (names) => [`^(${names})(/|$)`, `(^|/)node_modules/(${names})/`];

/** Client libraries of the engines. */
const ENGINE_LIBRARIES = packages('@aws-sdk/[^/]+|@smithy/[^/]+|@duckdb/[^/]+');

/** GraphQL, its helpers and decorators: the API's concern, not the domain's. */
const GRAPHQL_LIBRARIES = packages('graphql|graphql-[^/]+|type-graphql|class-validator|@apollo/[^/]+');

/** Node modules that reach the file system, the network or other processes. */
const IO_MODULES =
  '^(node:)?(fs|fs/promises|net|http|https|http2|dgram|dns|tls|child_process|worker_threads)$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'domain-not-to-outer-layers',
      comment:
        'src/events and src/realtime are the pure domain: the same rules run in the stream Lambda, ' +
        'the GraphQL Lambda and the embedded stack, and their unit tests need no emulator. ' +
        'Importing an adapter, a service, the API or the wiring would turn that around.',
      severity: 'error',
      from: { path: DOMAIN },
      to: {
        path: '^src/(sinks|stream|aws|access|services|resolvers|schema|api|handlers|local|client)/',
      },
    },
    {
      name: 'domain-not-to-engine-libraries',
      comment:
        'Only adapters talk to AWS or DuckDB (docs/architecture.md). An SDK in the domain would ' +
        'tie event rules to one engine and pull a client into every bundle that validates an event.',
      severity: 'error',
      from: { path: DOMAIN },
      to: { path: ENGINE_LIBRARIES },
    },
    {
      name: 'domain-not-to-graphql',
      comment:
        'GraphQL is one way in; the stream processor runs the same event rules without it. The ' +
        'domain takes plain data, so the API layer maps its input classes (and their ' +
        'class-validator decorators) onto domain types, not the other way round.',
      severity: 'error',
      from: { path: DOMAIN },
      to: { path: GRAPHQL_LIBRARIES },
    },
    {
      name: 'domain-no-io',
      comment:
        'The domain does no I/O: reading files or sockets belongs to adapters and the wiring, ' +
        'which hand the domain what it needs. That keeps it deterministic and fast to test.',
      severity: 'error',
      // One exception: the IP anonymiser uses node:net's isIPv6, a pure function (no socket).
      from: { path: DOMAIN, pathNot: '^src/events/enrich/ip[.]ts$' },
      to: { path: IO_MODULES },
    },
    {
      name: 'ip-anonymiser-net-parsing-only',
      comment:
        'src/events/enrich/ip.ts may import node:net for its address parsing only; it must not ' +
        'reach any other I/O module.',
      severity: 'error',
      from: { path: '^src/events/enrich/ip[.]ts$' },
      to: { path: IO_MODULES, pathNot: '^net$' },
    },
    {
      name: 'privacy-core-pure',
      comment:
        'The deletion ports and plan decide what a deletion does next; the runner and the adapters ' +
        'do the erasing and the storing. Kept free of engines, I/O and the outer layers, the plan ' +
        'is tested without an emulator and every eraser, wherever it lives, depends on it alone.',
      severity: 'error',
      from: PRIVACY_CORE,
      to: {
        path: [
          ...ENGINE_LIBRARIES,
          IO_MODULES,
          '^src/(sinks|stream|aws|access|services|resolvers|schema|api|handlers|local|client)/',
        ],
      },
    },
    {
      name: 'resolvers-not-to-adapters',
      comment:
        'Resolvers are thin: they call services, which are wired to an engine by src/handlers ' +
        '(AWS) or src/local (embedded stack). A resolver that imports an adapter or an SDK works ' +
        'with one engine only and cannot be tested against the other.',
      severity: 'error',
      from: { path: '^src/resolvers/' },
      to: { path: [...ADAPTERS, ...ENGINE_LIBRARIES] },
    },
    {
      name: 'no-circular',
      comment:
        'A cycle means two modules cannot be understood, tested or moved apart, and at runtime ' +
        'one of them sees the other half-initialised. Break it by moving the shared part inward ' +
        '(a port, a type, the domain).',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'lambda-handlers-not-to-local',
      comment:
        'Every module a Lambda handler reaches is bundled into that Lambda. The embedded stack ' +
        '(emulators, poller, demo, playground files) is for a laptop, CI and tests; reaching it ' +
        'from a handler would ship it to AWS and pull in packages that are only devDependencies.',
      severity: 'error',
      from: { path: '^src/handlers/' },
      to: { path: '^src/local/', reachable: true },
    },
    {
      name: 'console-is-a-browser-client',
      comment:
        'src/console runs in a browser and reads data only through the GraphQL API, with the key the ' +
        'user types in. It may share the generated operation types and the pure live-event contract; ' +
        'a service, an adapter or the wiring would either fail to bundle or ship server code to the page.',
      severity: 'error',
      from: { path: '^src/console/' },
      to: {
        path: ['^src/', ...ENGINE_LIBRARIES, IO_MODULES],
        pathNot: [
          '^src/console/',
          '^src/generated/',
          '^src/live/live-event[.]ts$',
          '^src/events/types[.]ts$',
        ],
      },
    },
    {
      name: 'only-the-page-contract-from-console',
      comment:
        'Server code reaches the console only through the page contract (src/console/page-config.ts); ' +
        'the rest is browser code, built by esbuild into assets (src/local/console-bundle.ts).',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/console/' },
      to: { path: '^src/console/', pathNot: '^src/console/page-config[.]ts$' },
    },
    {
      name: 'runtime-code-not-to-dev-dependencies',
      comment:
        'Code a Lambda may run imports only `dependencies`: a production install leaves ' +
        'devDependencies out. Only the embedded stack (src/local) may use the emulators, tsx and ' +
        'esbuild, which npm ci installs for development, tests and `npm start`; and the console ' +
        '(src/console) may use its browser libraries, which esbuild bundles into its assets.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(local|console)/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-non-package-json',
      comment:
        'A package that is not in package.json works only while another package happens to ' +
        'install it; declare it so its version is chosen on purpose.',
      severity: 'error',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a domain type that names a GraphQL class still depends on it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
