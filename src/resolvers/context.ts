import type { Principal } from '../access/principal';
import type { EdgeRequest } from '../services/ingest-service';
import type { Services } from '../services/services';

/** Per-request GraphQL context. */
export interface RequestContext {
  services: Services;
  /** Who is calling; every field checks it against what it needs (`@Requires`). */
  principal: Principal;
  edge: EdgeRequest;
}
