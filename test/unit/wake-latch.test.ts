import { WakeLatch } from '../../src/local/pipeline/protocol';

describe('WakeLatch', () => {
  it('asks for a wake only while a shard sleeps, once per sleep', () => {
    const pipeline = new WakeLatch();
    const api = new WakeLatch(pipeline.buffer);
    expect(api.put()).toBe(false);
    pipeline.arm('shard-0');
    expect(api.put()).toBe(true);
    expect(api.put()).toBe(false);
  });

  it('keeps a shard awake when records were put since it last asked', () => {
    const pipeline = new WakeLatch();
    const api = new WakeLatch(pipeline.buffer);
    // The first time, a shard has seen no count yet: it reads once more.
    expect(pipeline.arm('shard-0')).toBe(false);
    expect(pipeline.arm('shard-0')).toBe(true);
    // A put during the read that came back empty: the shard reads again instead of sleeping.
    api.put();
    expect(pipeline.arm('shard-0')).toBe(false);
    expect(pipeline.arm('shard-0')).toBe(true);
  });

  it('counts puts for each shard on its own', () => {
    const pipeline = new WakeLatch();
    const api = new WakeLatch(pipeline.buffer);
    pipeline.arm('shard-0');
    pipeline.arm('shard-1');
    api.put();
    expect(pipeline.arm('shard-0')).toBe(false);
    expect(pipeline.arm('shard-1')).toBe(false);
  });
});
