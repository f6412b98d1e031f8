import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import type {
  DeletionRequest as DeletionRequestRecord,
  DeletionStep as DeletionStepRecord,
} from '../privacy/port';

export enum DeletionStatus {
  PENDING = 'PENDING',
  RUNNING = 'RUNNING',
  COMPLETED = 'COMPLETED',
  FAILED = 'FAILED',
}
registerEnumType(DeletionStatus, {
  name: 'DeletionStatus',
  description:
    'PENDING: nothing erased yet. RUNNING: erasing, steps are left. FAILED: a step’s last attempt failed; it is retried. COMPLETED: every store is erased.',
});

@ObjectType({ description: 'One store’s part of a deletion.' })
export class DeletionStep {
  @Field(() => String, { description: 'The store: `hot-tier`, `lake-events`, `lake-failed`, `warehouse`, …' })
  store!: string;

  @Field(() => DeletionStatus)
  status!: DeletionStatus;

  @Field(() => Int, {
    nullable: true,
    description: 'Records removed (items, rows, events in rewritten files); null until the step completes.',
  })
  removed!: number | null;

  @Field(() => String, {
    nullable: true,
    description: 'Why the last attempt failed, or what the step did.',
  })
  detail!: string | null;

  static from(record: DeletionStepRecord): DeletionStep {
    return Object.assign(new DeletionStep(), {
      store: record.store,
      status: DeletionStatus[record.status],
      removed: record.removed,
      detail: record.detail,
    });
  }
}

@ObjectType({
  description:
    'A request to erase one person from every store (docs/privacy.md#deletion), and how far it got.',
})
export class DeletionRequest {
  @Field(() => ID)
  id!: string;

  @Field(() => [ID], { description: 'Every id of the person, as resolved when the deletion was asked.' })
  subjectIds!: string[];

  @Field(() => DeletionStatus)
  status!: DeletionStatus;

  @Field(() => Date)
  requestedAt!: Date;

  @Field(() => Date, { nullable: true })
  completedAt!: Date | null;

  @Field(() => [DeletionStep], { description: 'One per store, in the order they run.' })
  steps!: DeletionStep[];

  static from(record: DeletionRequestRecord): DeletionRequest {
    return Object.assign(new DeletionRequest(), {
      id: record.id,
      subjectIds: record.subjectIds,
      status: DeletionStatus[record.status],
      requestedAt: new Date(record.requestedAt),
      completedAt: record.completedAt === null ? null : new Date(record.completedAt),
      steps: record.steps.map(DeletionStep.from),
    });
  }
}
