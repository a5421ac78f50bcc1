import os from 'node:os'
import { randomBytes } from 'node:crypto'
import type { Namespace, Worker } from '../coordinate/api.js'
import type { DataDict } from '../coordinate/data.js'

/** The mode a runtime's worker reports while it claims, and after stop(). */
export const RUNNING_MODE = 'run'
export const STOPPED_MODE = 'stopped'

/** A worker name unlikely to be reused: host, pid and a random suffix. */
export function defaultWorkerName(): string {
  return `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`
}

/** What the worker tells `coordinate workers` and the dashboard about itself. */
export function registrationData(concurrency: number, specs: readonly string[], extra: DataDict = {}): DataDict {
  return {
    ...extra,
    host: os.hostname(),
    pid: process.pid,
    runtime: 'node',
    versions: { node: process.versions.node, v8: process.versions.v8 },
    concurrency,
    work_specs: [...specs],
  }
}

/** Gets (creating) the runtime's worker and its parent, if one is named. */
export async function registerWorker(namespace: Namespace, name: string, parent: string | undefined): Promise<Worker> {
  const worker = await namespace.worker(name)
  if (parent !== undefined) await worker.setParent(await namespace.worker(parent))
  return worker
}
