import {
  hitRate,
  holdOutFirstItemAfter,
  holdOutLastItem,
  mostPopular,
  popularity,
} from '../../scripts/eval/holdout';
import { evaluateRecommendations, evaluateStitching } from '../../scripts/eval/evaluate';
import { generateTraffic } from '../../scripts/simulation/generate';

const e = (profileId: string, ...itemIds: string[]) => ({ profileId, itemIds });

describe('holdOutLastItem', () => {
  it('holds out the item each user came to last, with everything they did from then on', () => {
    const events = [
      e('u1', 'a'),
      e('u2', 'x'),
      e('u1', 'b'),
      e('u1'),
      e('u1', 'a'), // a repeat of an earlier item is not "the last item"
      e('u1', 'c'),
      e('u1', 'b'),
      e('u2', 'y'),
    ];
    const { train, heldOut } = holdOutLastItem(events);
    expect(heldOut).toEqual(
      new Map([
        ['u1', 'c'],
        ['u2', 'y'],
      ]),
    );
    expect(train).toEqual([e('u1', 'a'), e('u2', 'x'), e('u1', 'b'), e('u1'), e('u1', 'a')]);
  });

  it('holds out the first item an order names when the order is the first touch of several', () => {
    const events = [e('u1', 'a'), e('u1', 'b', 'c', 'a'), e('u1', 'c')];
    const { train, heldOut } = holdOutLastItem(events);
    expect(heldOut).toEqual(new Map([['u1', 'b']]));
    expect(train).toEqual([e('u1', 'a')]);
  });

  it('evaluates nobody with a single item, and keeps their events for training', () => {
    const events = [e('u1', 'a'), e('u1', 'a'), e('u2')];
    const { train, heldOut } = holdOutLastItem(events);
    expect(heldOut.size).toBe(0);
    expect(train).toEqual(events);
  });
});

describe('holdOutFirstItemAfter', () => {
  const signIn = (profileId: string) => ({ ...e(profileId), signsIn: true });
  const starts = (event: object) => 'signsIn' in event;

  it('holds out the first new item from the marked event on, with everything after it', () => {
    const events = [
      e('u1', 'a'),
      e('u2', 'x'),
      signIn('u1'),
      e('u1', 'a'), // touched before: not new
      e('u2', 'y'),
      e('u1', 'b', 'c'),
      e('u1', 'd'),
    ];
    const { train, heldOut } = holdOutFirstItemAfter(events, starts);
    expect(heldOut).toEqual(new Map([['u1', 'b']]));
    expect(train).toEqual(events.slice(0, 5));
  });

  it('evaluates nobody who came to no item before the marked event', () => {
    const events = [e('u1'), signIn('u1'), e('u1', 'a'), e('u1', 'b'), e('u2', 'a')];
    const { train, heldOut } = holdOutFirstItemAfter(events, starts);
    expect(heldOut.size).toBe(0);
    expect(train).toEqual(events);
  });
});

describe('hitRate', () => {
  it('counts users whose held-out item is within the first k, over every evaluated user', () => {
    const heldOut = new Map([
      ['u1', 'a'],
      ['u2', 'b'],
      ['u3', 'c'],
      ['u4', 'd'],
    ]);
    const recommended = new Map([
      ['u1', ['a', 'z']],
      ['u2', ['z', 'b']],
      ['u3', ['z', 'y', 'c']],
      // u4 got nothing: a miss, not a skipped user
    ]);
    expect(hitRate(recommended, heldOut, 2)).toBe(0.5);
    expect(hitRate(recommended, heldOut, 3)).toBe(0.75);
    expect(hitRate(recommended, new Map(), 10)).toBe(0);
  });
});

describe('most-popular baseline', () => {
  it('ranks by events per item, ties by id, and skips what is excluded', () => {
    const ranked = popularity([e('u1', 'b'), e('u2', 'b'), e('u1', 'c'), e('u3', 'a'), e('u1')]);
    expect(ranked).toEqual(['b', 'a', 'c']);
    // Every product of an order is an event naming it.
    expect(popularity([e('u1', 'c', 'a'), e('u2', 'a')])).toEqual(['a', 'c']);
    expect(mostPopular(ranked, new Set(['b']), 2)).toEqual(['a', 'c']);
  });
});

describe('evaluateRecommendations', () => {
  it('beats most-popular on traffic with planted pairs and shopper interests', async () => {
    const { events } = generateTraffic({
      users: 400,
      events: 16_000,
      items: 300,
      seed: 7,
      end: Date.parse('2026-05-04T12:00:00Z'),
    });
    const result = await evaluateRecommendations(events, { k: 10, batchSize: 500 });
    expect(result.users).toBeGreaterThan(350);
    expect(result.engine).toBeGreaterThan(result.baseline * 1.1);
    expect(result.lift).toBeCloseTo(result.engine / result.baseline, 10);
  });
});

describe('evaluateStitching', () => {
  const history = {
    users: 400,
    events: 16_000,
    items: 300,
    seed: 7,
    end: Date.parse('2026-05-04T12:00:00Z'),
  };

  it('recommends better from the whole person at sign-in when 30 % browse anonymously first', async () => {
    const { events } = generateTraffic({ ...history, anonymousShare: 0.3 });
    const { lastItem, atSignIn } = await evaluateStitching(events, { k: 10, batchSize: 500 });
    expect(atSignIn.users).toBeGreaterThan(40);
    expect(atSignIn.anonymousFirst).toBe(atSignIn.users);
    expect(atSignIn.stitched).toBeGreaterThan(atSignIn.unstitched);
    expect(atSignIn.lift).toBeCloseTo(atSignIn.stitched / atSignIn.unstitched, 10);
    // Every signed-in user is evaluated on their last item, those who browsed anonymously among them.
    expect(lastItem.users).toBeGreaterThan(200);
    expect(lastItem.anonymousFirst).toBeGreaterThan(40);
    expect(lastItem.anonymousFirst).toBeLessThan(lastItem.users);
  });

  it('changes nothing when nobody with an account browses anonymously first', async () => {
    const { events } = generateTraffic({ ...history, users: 200, events: 8000 });
    const { lastItem, atSignIn } = await evaluateStitching(events, { k: 10, batchSize: 500 });
    expect(lastItem.users).toBeGreaterThan(100);
    expect(lastItem.anonymousFirst).toBe(0);
    expect(lastItem.stitched).toBeGreaterThan(0);
    expect(lastItem.stitched).toBe(lastItem.unstitched);
    expect(atSignIn.users).toBe(0);
  });
});
