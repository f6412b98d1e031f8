import { SchemaRegistryError } from './errors';

/**
 * Which items an event is about, as its JSON Schema declares them. An event names one item
 * (`"x-item-property": "product_id"`) or a list of them (`"x-item-list": { "property":
 * "products", "itemProperty": "product_id" }`, as an order lists its lines), never both.
 */
export interface ItemDeclaration {
  /** The top-level property holding the one item the event is about (`x-item-property`). */
  itemProperty: string | null;
  /** The array property whose elements each name an item (`x-item-list`). */
  itemList: ItemList | null;
}

export interface ItemList {
  /** A top-level array property of the event, e.g. `products`. */
  property: string;
  /** The property of each element holding its item id, e.g. `product_id`. */
  itemProperty: string;
}

export const ITEM_PROPERTY_KEYWORD = 'x-item-property';
export const ITEM_LIST_KEYWORD = 'x-item-list';

type Json = Record<string, unknown>;
const isJson = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Reads and checks a schema's item keywords when it loads, so a typo fails at start-up instead of
 * silently leaving events without items. `ref` (`<event>/<version>`) prefixes every error.
 */
export function readItemDeclaration(schema: Json, ref: string): ItemDeclaration {
  const properties = isJson(schema.properties) ? schema.properties : {};
  const itemProperty = schema[ITEM_PROPERTY_KEYWORD];
  if (itemProperty !== undefined && !(typeof itemProperty === 'string' && itemProperty in properties))
    throw new SchemaRegistryError(
      `${ref}: ${ITEM_PROPERTY_KEYWORD} "${String(itemProperty)}" is not one of its properties`,
    );
  const itemList = readItemList(schema[ITEM_LIST_KEYWORD], properties, ref);
  if (itemProperty !== undefined && itemList !== null)
    throw new SchemaRegistryError(
      `${ref}: ${ITEM_PROPERTY_KEYWORD} and ${ITEM_LIST_KEYWORD} both name items; declare one or the other`,
    );
  return { itemProperty: typeof itemProperty === 'string' ? itemProperty : null, itemList };
}

function readItemList(keyword: unknown, properties: Json, ref: string): ItemList | null {
  if (keyword === undefined) return null;
  const shape = `{ "property": "<array property>", "itemProperty": "<property of its elements>" }`;
  if (
    !isJson(keyword) ||
    typeof keyword.property !== 'string' ||
    typeof keyword.itemProperty !== 'string' ||
    Object.keys(keyword).length !== 2
  )
    throw new SchemaRegistryError(`${ref}: ${ITEM_LIST_KEYWORD} must be ${shape}`);
  const { property, itemProperty } = keyword;
  const list = properties[property];
  if (list === undefined)
    throw new SchemaRegistryError(
      `${ref}: ${ITEM_LIST_KEYWORD} property "${property}" is not one of its properties`,
    );
  if (!isJson(list) || list.type !== 'array' || !isJson(list.items))
    throw new SchemaRegistryError(
      `${ref}: ${ITEM_LIST_KEYWORD} property "${property}" must be an array ("type": "array") with an "items" schema`,
    );
  const elementProperties = list.items.properties;
  if (!isJson(elementProperties) || !(itemProperty in elementProperties))
    throw new SchemaRegistryError(
      `${ref}: ${ITEM_LIST_KEYWORD} itemProperty "${itemProperty}" is not a property of the elements of "${property}"`,
    );
  return { property, itemProperty };
}

/**
 * An item id as the pipeline stores it: a string as sent, a number (schemas allow integer product
 * ids) in its decimal form, so `42` and `"42"` are one item; anything else names no item.
 */
export function toItemId(value: unknown): string | null {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : null;
}

/**
 * Every item an event is about, in the order it names them, each once: an order listing a
 * product on two lines bought it once as far as interest goes. Empty when the schema declares no
 * items (or there is no schema) or the event leaves them out.
 */
export function itemIdsOf(declaration: ItemDeclaration | null, properties: Json): string[] {
  if (declaration === null) return [];
  if (declaration.itemProperty !== null) {
    const id = toItemId(properties[declaration.itemProperty]);
    return id === null ? [] : [id];
  }
  if (declaration.itemList === null) return [];
  const list = properties[declaration.itemList.property];
  if (!Array.isArray(list)) return [];
  const ids = new Set<string>();
  for (const element of list) {
    const id = isJson(element) ? toItemId(element[declaration.itemList.itemProperty]) : null;
    if (id !== null) ids.add(id);
  }
  return [...ids];
}
