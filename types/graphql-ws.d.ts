// graphql-ws 6 publishes its ws adapter only as a subpath export, which `moduleResolution: node`
// cannot follow; this points the subpath at the typings the package ships.
declare module 'graphql-ws/use/ws' {
  export * from 'graphql-ws/dist/use/ws';
}
