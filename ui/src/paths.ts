import { encodeName } from './names.js'

// Where the HTTP API keeps things: the REST routes and the dashboard's own read routes.

/** The REST path of a spec. */
export const restSpec = (ns: string, spec: string): string => `/namespace/${encodeName(ns)}/work_spec/${encodeName(spec)}`

/** The REST path of a unit; `key` is already encoded. */
export const restUnit = (ns: string, spec: string, key: string): string => `${restSpec(ns, spec)}/work_unit/${key}`

/** The dashboard path of a spec. */
export const dashSpec = (ns: string, spec: string): string => `/dashboard${restSpec(ns, spec)}`

/** The dashboard path of a namespace's workers. */
export const dashWorkers = (ns: string): string => `/dashboard/namespace/${encodeName(ns)}/workers`
