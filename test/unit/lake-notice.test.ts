import { LakeNotice } from '../../src/local/pipeline/protocol';

describe('LakeNotice', () => {
  it('has the pipeline post one notice until the API thread takes it', () => {
    const pipeline = new LakeNotice();
    const api = new LakeNotice(pipeline.buffer);
    expect(pipeline.raise()).toBe(true);
    expect(pipeline.raise()).toBe(false);
    expect(pipeline.raise()).toBe(false);
    api.take();
    // Files made durable after the take need a notice of their own.
    expect(pipeline.raise()).toBe(true);
    expect(pipeline.raise()).toBe(false);
  });
});
