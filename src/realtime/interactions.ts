/**
 * How strongly an event ties a user to an item. Event names are the app's own, so the kind is
 * inferred from the name with rules a deployment may replace; anything with an item that is not a
 * cart or a purchase counts as a view.
 */
export type InteractionKind = 'view' | 'cart' | 'purchase';

export interface InteractionModel {
  /** The kind of an item event, by event name. */
  kindOf(event: string): InteractionKind;
  /** The weight of a kind: view < cart < purchase. */
  weightOf(kind: InteractionKind): number;
}

export const DEFAULT_WEIGHTS: Readonly<Record<InteractionKind, number>> = { view: 1, cart: 3, purchase: 5 };

const PURCHASE = /(purchase|order_completed|order_placed|checkout_completed)/;
// "product_removed_from_cart" is a cart event too, but it is no sign of interest.
const CART = /(added_to_cart|add_to_cart|cart_added|added_to_wishlist)/;

/** The default rules, matching the common e-commerce tracking plans (Segment, GA4 style names). */
export const defaultInteractionModel: InteractionModel = {
  kindOf(event) {
    if (PURCHASE.test(event)) return 'purchase';
    if (CART.test(event)) return 'cart';
    return 'view';
  },
  weightOf: (kind) => DEFAULT_WEIGHTS[kind],
};
