import { deployArgs } from '../../scripts/deploy';

describe('deployArgs', () => {
  it('maps --stage to the stage context and that stage stack, passing other options through', () => {
    expect(deployArgs(['--stage', 'dev'])).toEqual(['cdk', 'deploy', '-c', 'stage=dev', 'Tributary-dev']);
    expect(deployArgs(['--profile', 'ops', '--stage=prod', '--require-approval', 'never'])).toEqual([
      'cdk',
      'deploy',
      '-c',
      'stage=prod',
      'Tributary-prod',
      '--profile',
      'ops',
      '--require-approval',
      'never',
    ]);
  });

  it('requires a known stage', () => {
    expect(() => deployArgs([])).toThrow(/--stage is required: one of dev, prod/);
    expect(() => deployArgs(['--stage', 'staging'])).toThrow(/Unknown stage "staging"/);
  });
});
