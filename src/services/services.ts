import type { AccessService } from './access-service';
import type { AnalyticsService } from './analytics-service';
import type { DeletionService } from './deletion-service';
import type { FailedEventsService } from './failed-events-service';
import type { IngestService } from './ingest-service';
import type { LiveFeed } from '../live/port';
import type { ProfileService } from './profile-service';
import type { RecommendationService } from './recommendation-service';

/** The services resolvers and HTTP routes call; built once per process by the handler or the local stack. */
export interface Services {
  access: AccessService;
  ingest: IngestService;
  profiles: ProfileService;
  recommendations: RecommendationService;
  analytics: AnalyticsService;
  failedEvents: FailedEventsService;
  deletions: DeletionService;
  /** What `liveEvents` reads; undefined where this process holds no subscribers (docs/live.md). */
  liveFeed?: LiveFeed;
}
