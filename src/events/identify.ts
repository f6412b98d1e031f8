/** The event that sets a profile's traits, as in Segment's spec. */
export const IDENTIFY_EVENT = 'identify';

/**
 * Where an identify event may nest its traits: Segment's clients send them as `properties.traits`,
 * others as the properties themselves, and both shapes set the same profile traits.
 */
export const TRAITS_PROPERTY = 'traits';
