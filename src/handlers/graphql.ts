import 'reflect-metadata';
import { loadConfig } from '../config';
import { createGraphqlHandler } from './graphql-handler';

/** The graphql function's entry (src/handlers/graphql-handler.ts): wired once per execution environment. */
export const handler = createGraphqlHandler({ config: loadConfig() });
