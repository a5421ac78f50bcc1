import type { Namespace, WorkSpec, WorkUnit, Worker } from '../coordinate/api.js'
import { GoneError, NoSuchWorkSpecError, NoSuchWorkUnitError } from '../coordinate/errors.js'

/** The spec with this name, or null: a missing spec is answered in-band, never as an RPC error. */
export async function findWorkSpec(namespace: Namespace, name: string): Promise<WorkSpec | null> {
  try {
    return await namespace.workSpec(name)
  } catch (error) {
    if (error instanceof NoSuchWorkSpecError) return null
    throw error
  }
}

/** The unit with this key, or null (also when it or its spec was deleted meanwhile). */
export async function findWorkUnit(spec: WorkSpec, key: Uint8Array): Promise<WorkUnit | null> {
  try {
    return await spec.workUnit(key)
  } catch (error) {
    if (error instanceof NoSuchWorkUnitError || error instanceof GoneError) return null
    throw error
  }
}

/**
 * The worker with this name, or null. Namespace.worker() would create it, and a query for a
 * worker must not register one (Python answers None for a worker it never heard from).
 */
export async function findWorker(namespace: Namespace, name: string): Promise<Worker | null> {
  return (await namespace.workers()).find((worker) => worker.name === name) ?? null
}

/** Python's message for a missing spec (job_server.py formats the name with `{!r}`). */
export function noSuchWorkSpec(name: string): string {
  return `no such work_spec ${pythonRepr(name)}`
}

/** Python's message for a missing unit. */
export function noSuchWorkUnit(name: string): string {
  return `no such work unit key=${pythonRepr(name)}`
}

/** Python's message for unregistering a worker it does not know. */
export function noSuchWorker(name: string): string {
  return `no worker ${pythonRepr(name)}`
}

// Close enough to Python's repr of a str for a message: single quotes, backslash escapes.
function pythonRepr(text: string): string {
  const escaped = JSON.stringify(text).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'")
  return `'${escaped}'`
}
