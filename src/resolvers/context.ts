import type { Principal } from '../access/principal';
import type { AccessService } from '../services/access-service';
import type { AnalyticsService } from '../services/analytics-service';
import type { FailedEventsService } from '../services/failed-events-service';
import type { EdgeRequest, IngestService } from '../services/ingest-service';
import type { ProfileService } from '../services/profile-service';
import type { RecommendationService } from '../services/recommendation-service';

/** The services resolvers call; built once per process by the handler or the local stack. */
export interface Services {
  access: AccessService;
  ingest: IngestService;
  profiles: ProfileService;
  recommendations: RecommendationService;
  analytics: AnalyticsService;
  failedEvents: FailedEventsService;
}

/** Per-request GraphQL context. */
export interface RequestContext {
  services: Services;
  /** Who is calling; every field checks it against what it needs (`@Requires`). */
  principal: Principal;
  edge: EdgeRequest;
}
