/**
 * The default detector: what counts as personal data in an event without a schema, where no
 * `x-pii` mark says so. It looks at whole text values only; an email address or a phone number
 * inside a longer text is left alone, as a schema would leave an unmarked field.
 */

/** What the detector looks for (`TRIBUTARY_PII_DETECTOR`). */
export type PiiKind = 'email' | 'phone';

export const PII_KINDS: readonly PiiKind[] = ['email', 'phone'];

/** Whether a text value is personal data; null when the detector is off. */
export type PiiDetector = ((text: string) => boolean) | null;

const MAX_EMAIL_LENGTH = 320;
// ASCII addresses: a local part of up to 64 characters, then dot-separated host labels and a TLD of letters.
const EMAIL = /^[A-Za-z0-9._%+'-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;

/** An email address, as the detector reads one. */
export function isEmail(text: string): boolean {
  return text.length <= MAX_EMAIL_LENGTH && text.includes('@') && EMAIL.test(text);
}

/**
 * A phone number: international (`+44 20 7946 0958`) or with an area code in parentheses
 * (`(555) 010-4477`), 7 to 15 digits with spaces, dots, dashes or parentheses between them. A bare
 * run of digits is not taken for one: order numbers, dates and amounts look just like it.
 */
const PHONE_SOURCE = String.raw`(?:\+|\(\d)[\d\s().-]{5,30}\d`;
const PHONE = new RegExp(`^${PHONE_SOURCE}$`);
/** PHONE anywhere in a text, for records that cannot be read as JSON. */
export const PHONE_IN_TEXT = new RegExp(PHONE_SOURCE, 'g');

export function isPhone(text: string): boolean {
  const first = text.charCodeAt(0);
  // Most values start with neither `+` nor `(`: decided without a regex.
  if ((first !== 43 && first !== 40) || text.length > 32) return false;
  return PHONE.test(text) && hasPhoneDigits(text);
}

/** 7 to 15 digits, as E.164 numbers have (with the national prefix some countries add). */
export function hasPhoneDigits(text: string): boolean {
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 48 && code <= 57) digits++;
  }
  return digits >= 7 && digits <= 15;
}

/** The detector for the configured kinds; null (off) when there are none. */
export function createPiiDetector(kinds: readonly PiiKind[] = PII_KINDS): PiiDetector {
  const email = kinds.includes('email');
  const phone = kinds.includes('phone');
  if (email && phone) return (text) => isEmail(text) || isPhone(text);
  if (email) return isEmail;
  if (phone) return isPhone;
  return null;
}
