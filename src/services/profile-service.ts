import { mergeProfiles, resolvePerson, type LinkedId, type Person } from '../realtime/person';
import { DEFAULT_PROFILE_LIMITS, type ProfileLimits } from '../realtime/profile';
import type { HotStore, UserProfileRecord } from '../sinks/hot-tier/port';
import { ApiError } from './errors';
import { checkPersonId } from './person-id';

/** A person's merged profile, asked for by one of its ids. */
export interface PersonProfile extends UserProfileRecord {
  personId: string;
  ids: LinkedId[];
}

/** Who an id belongs to: the person's id and every id linked to it. */
export interface Identity {
  personId: string;
  ids: LinkedId[];
}

export const notLinked = (): ApiError =>
  new ApiError(
    'NOT_LINKED',
    'the id is not linked to another id (it is its own person); unlink one of the person’s other ids',
  );

/** Reads what the hot tier knows about people: one person across every id linked to it. */
export class ProfileService {
  private readonly limits: ProfileLimits;

  constructor(
    private readonly hotStore: HotStore,
    limits: Partial<ProfileLimits> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.limits = { ...DEFAULT_PROFILE_LIMITS, ...limits };
  }

  /**
   * The profile of the person any of whose ids is `id` (docs/identity.md), merged from the
   * profiles of all their ids; null when the hot tier has never seen the id.
   */
  async user(id: string): Promise<PersonProfile | null> {
    const person = await this.person(id);
    const merged = person === null ? null : mergeProfiles(person.profiles, this.limits);
    if (person === null || merged === null) return null;
    return { ...merged, id, personId: person.personId, ids: person.ids };
  }

  /** The person `id` belongs to, or null when the hot tier has never seen the id. */
  async identity(id: string): Promise<Identity | null> {
    checkPersonId(id);
    const person = await this.person(id);
    return person === null ? null : { personId: person.personId, ids: person.ids };
  }

  /** Whether `id` and `otherId` belong to the same person (a user token covers its own person). */
  async samePerson(id: string, otherId: string): Promise<boolean> {
    if (id === otherId) return true;
    const person = await this.person(id);
    return person?.ids.some((linked) => linked.id === otherId) ?? false;
  }

  /**
   * Splits `id` off its person for good and answers the identity it has afterwards. An id that
   * is its own person (nothing links it anywhere) is refused with NOT_LINKED.
   */
  async unlink(id: string): Promise<Identity> {
    checkPersonId(id);
    const before = await this.person(id);
    if (before === null || before.personId === id) throw notLinked();
    await this.hotStore.unlink(id, new Date(this.now()).toISOString());
    const after = await this.identity(id);
    // The id has a record (it was linked), so it resolves to a person again.
    return after ?? { personId: id, ids: [] };
  }

  private person(id: string): Promise<Person | null> {
    return resolvePerson(id, (ids) => this.hotStore.readIds(ids));
  }
}
