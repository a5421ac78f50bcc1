import { encodeName } from './names.js'

/** The URL paths of every resource, built from names; the server and the client share them. */
export const urls = {
  namespaces: (): string => '/namespace',
  namespace: (ns: string): string => `/namespace/${encodeName(ns)}`,
  workSpecs: (ns: string): string => `${urls.namespace(ns)}/work_spec`,
  workSpec: (ns: string, spec: string): string => `${urls.workSpecs(ns)}/${encodeName(spec)}`,
  workUnits: (ns: string, spec: string): string => `${urls.workSpec(ns, spec)}/work_unit`,
  workUnit: (ns: string, spec: string, key: Uint8Array): string => `${urls.workUnits(ns, spec)}/${encodeName(key)}`,
  attempt: (ns: string, spec: string, key: Uint8Array, id: string): string => `${urls.workUnit(ns, spec, key)}/attempt/${encodeName(id)}`,
  workers: (ns: string): string => `${urls.namespace(ns)}/worker`,
  worker: (ns: string, worker: string): string => `${urls.workers(ns)}/${encodeName(worker)}`,
}
