import { itemIdsOf, toItemId, type ItemDeclaration } from '../../src/events/event-items';
import type { StoredEvent } from '../../src/events/types';
import { toHotActivity } from '../../src/stream/hot-activity';

const one: ItemDeclaration = { itemProperty: 'product_id', itemList: null };
const list: ItemDeclaration = {
  itemProperty: null,
  itemList: { property: 'products', itemProperty: 'product_id' },
};

describe('toItemId', () => {
  it('keeps strings, writes numbers in decimal and refuses anything else', () => {
    expect(toItemId('sku-1')).toBe('sku-1');
    expect(toItemId(42)).toBe('42');
    expect([null, undefined, true, { id: 1 }, ['a']].map(toItemId)).toEqual([null, null, null, null, null]);
  });
});

describe('itemIdsOf', () => {
  it('reads the one item an x-item-property names', () => {
    expect(itemIdsOf(one, { product_id: 'sku-1', products: [{ product_id: 'x' }] })).toEqual(['sku-1']);
    expect(itemIdsOf(one, { product_id: 7 })).toEqual(['7']);
    expect(itemIdsOf(one, {})).toEqual([]);
  });

  it('reads every element of an x-item-list, in order, each once, numbers as strings', () => {
    const products = [
      { product_id: 'b' },
      { product_id: 42, quantity: 3 },
      { product_id: 'b' },
      { product_id: '42' },
      { price: 3 },
      'not-an-object',
      { product_id: 'a' },
    ];
    expect(itemIdsOf(list, { products })).toEqual(['b', '42', 'a']);
  });

  it('finds nothing without a declaration, a list, or elements', () => {
    expect(itemIdsOf(null, { product_id: 'sku-1' })).toEqual([]);
    expect(itemIdsOf({ itemProperty: null, itemList: null }, { product_id: 'sku-1' })).toEqual([]);
    expect(itemIdsOf(list, {})).toEqual([]);
    expect(itemIdsOf(list, { products: 'sku-1' })).toEqual([]);
    expect(itemIdsOf(list, { products: [] })).toEqual([]);
  });
});

describe('toHotActivity', () => {
  const stored = (messageId: string, event: string, userId: string | null): StoredEvent => ({
    messageId,
    event,
    userId,
    anonymousId: null,
    sessionId: null,
    timestamp: '2026-01-02T03:00:00.000Z',
    sentAt: null,
    receivedAt: '2026-01-02T03:00:01.000Z',
    source: 'graphql',
    properties: {},
    context: {},
    processorVersion: 'v',
    itemId: null,
  });

  it('keeps one activity per event with all its items, and skips events without a profile', () => {
    const activity = toHotActivity([
      {
        event: stored('o1', 'order_completed', 'u1'),
        itemIds: ['a', 'b'],
        shardId: 's',
        sequenceNumber: '1',
      },
      { event: stored('p1', 'page_viewed', 'u1'), itemIds: [], shardId: 's', sequenceNumber: '2' },
      { event: stored('x1', 'page_viewed', null), itemIds: ['c'], shardId: 's', sequenceNumber: '3' },
    ]);
    expect(activity).toEqual([
      expect.objectContaining({ messageId: 'o1', profileId: 'u1', itemIds: ['a', 'b'], sequenceNumber: '1' }),
      expect.objectContaining({ messageId: 'p1', itemIds: [], traits: null }),
    ]);
  });
});
