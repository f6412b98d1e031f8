// Imported first by the local entry points. Libraries read NODE_ENV once, as they load, and skip
// development-only checks in production (graphql-js's costs every resolved value); `npm start` is
// a running pipeline, so it runs as one. An explicit NODE_ENV still wins.
process.env.NODE_ENV ??= 'production';

export {};
