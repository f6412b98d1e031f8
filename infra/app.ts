import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { stageConfig, WAREHOUSE_ENGINES, withWarehouseEngine, type WarehouseEngine } from './config';
import { TributaryStack } from './tributary-stack';

const app = new App();
const stage: unknown = app.node.tryGetContext('stage') ?? 'dev';
// `-c warehouse=athena|redshift` deploys a stage on the other engine without editing infra/config.ts.
const engine: unknown = app.node.tryGetContext('warehouse');
if (engine !== undefined && !WAREHOUSE_ENGINES.includes(engine as WarehouseEngine)) {
  throw new Error(
    `Unknown warehouse engine "${String(engine)}": expected one of ${WAREHOUSE_ENGINES.join(', ')}`,
  );
}
const stageDefaults = stageConfig(String(stage));
const config =
  engine === undefined ? stageDefaults : withWarehouseEngine(stageDefaults, engine as WarehouseEngine);

// Env-agnostic unless the CLI knows the account: synth must work offline without credentials, and nothing here
// needs lookups.
const account = process.env.CDK_DEFAULT_ACCOUNT;
const region = process.env.CDK_DEFAULT_REGION;

const stack = new TributaryStack(app, `Tributary-${config.stage}`, {
  config,
  env: account && region ? { account, region } : undefined,
  description: `Tributary event pipeline (${config.stage})`,
});
Tags.of(stack).add('project', 'tributary');
Tags.of(stack).add('stage', config.stage);

// cdk-nag 3 runs as a policy validation plugin: any unacknowledged finding fails `cdk synth`.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
