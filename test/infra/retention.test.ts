import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { loadConfig } from '../../src/config';
import { isJunkId } from '../../src/events/identity';
import { QUARANTINE_PREFIX } from '../../src/sinks/lake/firehose/s3-lake-quarantine';
import { stageConfig, type StageName } from '../../infra/config';
import {
  EVENTS_ERROR_PREFIX,
  EVENTS_PREFIX,
  FAILED_ERROR_PREFIX,
  FAILED_PREFIX,
} from '../../infra/constructs/delivery';
import { LAKE_RECOVERY_WINDOW, lakeExpirations } from '../../infra/constructs/lake';
import { identityEnvironment, TributaryStack } from '../../infra/tributary-stack';

type Resources = Record<string, { Properties: Record<string, unknown> }>;

const outRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-retention-cdk-'));
afterAll(() => fs.rmSync(outRoot, { recursive: true, force: true }));

/** Each stage synthesized once (bundling is the slow part), with CloudFormation validation off as in the stack test. */
const templates = new Map<StageName, Template>();
beforeAll(() => {
  for (const stage of ['dev', 'prod'] as const) {
    const app = new App({
      builtinCloudFormationValidation: false,
      outdir: fs.mkdtempSync(path.join(outRoot, `${stage}-`)),
    } as ConstructorParameters<typeof App>[0]);
    templates.set(
      stage,
      Template.fromStack(new TributaryStack(app, `Tributary-${stage}`, { config: stageConfig(stage) })),
    );
  }
}, 180_000);

const template = (stage: StageName): Template => templates.get(stage) as Template;

function variablesOf(stage: StageName, service: string): Record<string, string> {
  const fns = Object.values(
    template(stage).findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: service } } },
    }) as Resources,
  );
  expect(fns).toHaveLength(1);
  return (fns[0]?.Properties.Environment as { Variables: Record<string, string> }).Variables;
}

function lakeRules(stage: StageName): Array<Record<string, unknown>> {
  const buckets = Object.entries(template(stage).findResources('AWS::S3::Bucket') as Resources).filter(
    ([id]) => id.startsWith('LakeBucket'),
  );
  expect(buckets).toHaveLength(1);
  return (buckets[0]?.[1].Properties.LifecycleConfiguration as { Rules: Array<Record<string, unknown>> })
    .Rules;
}

describe.each(['dev', 'prod'] as const)('retention limits of the %s stage', (stage) => {
  const { retention, lake } = stageConfig(stage);

  it('expires every lake prefix after its limit, noncurrent versions after the recovery window', () => {
    const rules = lakeRules(stage);
    const expected = [
      ['events/', retention.lakeDays],
      ['failed/', retention.failedEventsDays],
      ['quarantine/events/', retention.lakeDays],
      ['quarantine/failed/', retention.failedEventsDays],
      ['errors/', retention.failedEventsDays],
    ] as const;
    for (const [prefix, days] of expected) {
      expect(rules).toContainEqual(
        expect.objectContaining({
          Prefix: prefix,
          Status: 'Enabled',
          ExpirationInDays: days,
          ...(lake.versioned
            ? { NoncurrentVersionExpiration: { NoncurrentDays: LAKE_RECOVERY_WINDOW.toDays() } }
            : {}),
        }),
      );
    }
    const markers = rules.filter((rule) => rule.ExpiredObjectDeleteMarker === true);
    expect(markers).toHaveLength(lake.versioned ? 1 : 0);
  });

  it('gives the load step the warehouse limits and the stream the profile limit, as the config reads them', () => {
    const load = variablesOf(stage, 'tributary-warehouse-load');
    const stream = variablesOf(stage, 'tributary-stream');
    expect(load).toMatchObject({
      TRIBUTARY_RETENTION_WAREHOUSE_DAYS: String(retention.warehouseDays),
      TRIBUTARY_RETENTION_FAILED_EVENTS_DAYS: String(retention.failedEventsDays),
    });
    expect(stream).toMatchObject({
      TRIBUTARY_RETENTION_PROFILE_IDLE_DAYS: String(retention.profileIdleDays),
    });
    // The fold builds the hot store as the stream does.
    expect(variablesOf(stage, 'tributary-hot-fold')).toMatchObject({
      TRIBUTARY_RETENTION_PROFILE_IDLE_DAYS: String(retention.profileIdleDays),
    });
    // The retention variables alone: the others are CloudFormation references until deploy.
    const retentionVariables = Object.fromEntries(
      Object.entries({ ...load, ...stream }).filter(([name]) => name.startsWith('TRIBUTARY_RETENTION_')),
    );
    expect(loadConfig(retentionVariables).retention).toMatchObject({
      warehouseDays: retention.warehouseDays,
      failedEventsDays: retention.failedEventsDays,
      profileIdleDays: retention.profileIdleDays,
    });
  });

  it('gives every function that links, counts or erases persons the same identity settings', () => {
    const expected = identityEnvironment(stageConfig(stage).identity);
    for (const service of [
      'tributary-graphql',
      'tributary-stream',
      'tributary-hot-fold',
      'tributary-warehouse-load',
      'tributary-deletion',
    ]) {
      const identityVariables = Object.fromEntries(
        Object.entries(variablesOf(stage, service)).filter(([name]) =>
          name.startsWith('TRIBUTARY_IDENTITY_'),
        ),
      );
      expect([service, identityVariables]).toEqual([service, expected]);
    }
  });

  it('lets DynamoDB expire the hot table items on `ttl`', () => {
    template(stage).hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      KeySchema: Match.arrayWith([{ AttributeName: 'pk', KeyType: 'HASH' }]),
    });
  });
});

describe('identity settings', () => {
  it('reach the functions as the config reads them, lists included', () => {
    const identity = { blocklist: ['n/a', 'visitor'], maxAnonymousIds: 40, mergeSources: ['crm'] };
    const rules = loadConfig(identityEnvironment(identity)).identity;
    expect(isJunkId('Visitor', rules)).toBe(true);
    expect(isJunkId('n/a', rules)).toBe(true);
    expect(rules.maxAnonymousIds).toBe(40);
    expect([...rules.mergeSources]).toEqual(['crm']);
  });
});

describe('lake retention prefixes', () => {
  it('cover every folder the lake is written to: Firehose, its error output, the quarantine', () => {
    const prefixes = lakeExpirations({ eventsDays: 1, failedEventsDays: 1 }).map((e) => e.prefix);
    for (const written of [
      EVENTS_PREFIX,
      FAILED_PREFIX,
      EVENTS_ERROR_PREFIX,
      FAILED_ERROR_PREFIX,
      `${QUARANTINE_PREFIX}${EVENTS_PREFIX}`,
      `${QUARANTINE_PREFIX}${FAILED_PREFIX}`,
    ]) {
      expect([written, prefixes.some((prefix) => written.startsWith(prefix))]).toEqual([written, true]);
    }
  });

  it("defaults the embedded stack to the prod stage's limits", () => {
    expect(loadConfig({}).retention).toEqual(stageConfig('prod').retention);
  });
});
