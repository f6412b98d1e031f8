/** What the server tells the page, in a JSON script element (so the page runs no inline script). */
export interface ConsolePageConfig {
  /** The GraphQL endpoint for queries, e.g. `/graphql`. */
  graphqlUrl: string;
  /**
   * The graphql-ws endpoint for the live tail: absolute (`wss://…`), a path on this origin
   * (`/graphql`), or null where the deployment has none.
   */
  liveUrl: string | null;
  /** Prefilled only where the local stack serves the page on loopback; never in AWS. */
  apiKey: string | null;
}

/** The id of the script element holding the config. */
export const CONFIG_ELEMENT_ID = 'console-config';
