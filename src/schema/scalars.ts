/** The custom scalars the API uses; type-graphql maps `Date` to DateTimeISO by default. */
export { GraphQLDateTimeISO as DateTimeISO, GraphQLJSONObject as JSONObject } from 'graphql-scalars';
