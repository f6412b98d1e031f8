import { ENVELOPE_RULES, textLength } from '../events/envelope-rules';
import { badUserInput } from './errors';

/** The longest id a person is named by: the envelope's bound on userId and anonymousId. */
export const PERSON_ID_MAX_LENGTH = ENVELOPE_RULES.userId.maxLength;

/** An id as the envelope bounds it (1 to 256 characters), else BAD_USER_INPUT naming `field`. */
export function checkPersonId(id: string, field = 'id'): void {
  const length = textLength(id);
  if (length === 0 || length > PERSON_ID_MAX_LENGTH) {
    throw badUserInput(`${field}: 1 to ${PERSON_ID_MAX_LENGTH} characters`);
  }
}
