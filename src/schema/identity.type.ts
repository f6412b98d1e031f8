import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import type { Identity as IdentityRecord } from '../services/profile-service';
import type { LinkedId as LinkedIdRecord } from '../realtime/person';

export enum IdKind {
  USER = 'USER',
  ANONYMOUS = 'ANONYMOUS',
}
registerEnumType(IdKind, {
  name: 'IdKind',
  description:
    'USER: the id has been sent as a userId. ANONYMOUS: only ever as an anonymousId (or alias previousId).',
});

@ObjectType({ description: 'One id of a person, and when it joined them.' })
export class LinkedId {
  @Field(() => ID)
  id!: string;

  @Field(() => IdKind)
  kind!: IdKind;

  @Field(() => Date, {
    description:
      'When the link was made (edge time of the event that made it); for the person’s own id, when it was first seen.',
  })
  linkedAt!: Date;

  static from(record: LinkedIdRecord): LinkedId {
    return Object.assign(new LinkedId(), {
      id: record.id,
      kind: record.kind === 'USER' ? IdKind.USER : IdKind.ANONYMOUS,
      linkedAt: new Date(record.linkedAt),
    });
  }
}

@ObjectType({
  description:
    'Who an id belongs to: a person is a userId with every id linked to it, or a lone id (docs/identity.md).',
})
export class Identity {
  @Field(() => ID, { description: 'The person’s userId, or the lone id itself.' })
  personId!: string;

  @Field(() => [LinkedId], {
    description: 'Every id of the person, its own first, then in the order they were linked.',
  })
  ids!: LinkedId[];

  static from(record: IdentityRecord): Identity {
    return Object.assign(new Identity(), { personId: record.personId, ids: record.ids.map(LinkedId.from) });
  }
}
