import { spawnSync } from 'node:child_process';
import { STAGES, stageConfig } from '../infra/config';

/**
 * `npm run deploy -- --stage dev [cdk options]`: deploys one stage's stack. Options other than --stage go to
 * `cdk deploy` unchanged (for example `--profile`, `--require-approval never`).
 */
export function deployArgs(argv: readonly string[]): string[] {
  const rest: string[] = [];
  let stage: string | undefined;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (arg === '--stage') {
      stage = argv[i + 1];
      i += 1;
    } else if (arg.startsWith('--stage=')) {
      stage = arg.slice('--stage='.length);
    } else {
      rest.push(arg);
    }
  }
  if (stage === undefined) {
    throw new Error(`--stage is required: one of ${Object.keys(STAGES).join(', ')}`);
  }
  const config = stageConfig(stage);
  return ['cdk', 'deploy', '-c', `stage=${config.stage}`, `Tributary-${config.stage}`, ...rest];
}

if (require.main === module) {
  let args: string[];
  try {
    args = deployArgs(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
  console.log(`> npx ${args.join(' ')}`);
  const result = spawnSync('npx', args, { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}
