export { JobServer, type JobServerOptions } from './job-server.js'
export { type JobServerContext, type JobServerMethod, type MethodTable, type Pair, type RequestContext, method, ok } from './method.js'
export * from './status-codes.js'
export { connectionWorkerName } from './work.js'
