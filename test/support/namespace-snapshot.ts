import type { Coordinate, Namespace } from '../../src/coordinate/api.js'

/** Everything observable about one namespace, row versions included, for before/after comparisons. */
export interface NamespaceSnapshot {
  namespaces: string[]
  specs: unknown[]
  workers: unknown[]
}

/**
 * Reads a namespace whole through `coordinate` (give it the Postgres backend, not a cache, so
 * the snapshot is what the database holds). Versions are included: a write that changed no
 * value but bumped a version still counts as a change.
 */
export async function namespaceSnapshot(coordinate: Coordinate, namespace: Namespace): Promise<NamespaceSnapshot> {
  const namespaces = (await coordinate.namespaces()).map((ns) => ns.name)
  const specs = []
  for (const name of await namespace.workSpecNames()) {
    const spec = await namespace.workSpec(name)
    const units = await spec.workUnits()
    const snapshots = await spec.workUnitSnapshots(units.map((unit) => unit.key))
    const attempts = await Promise.all(units.map(async (unit) => (await unit.attempts()).map((a) => a.id)))
    specs.push({ name, spec: await spec.snapshot(), units: snapshots, attempts })
  }
  const workers = []
  for (const worker of await namespace.workers()) {
    const attempts = await worker.allAttempts()
    workers.push({
      name: worker.name,
      parent: (await worker.parent())?.name ?? null,
      active: await worker.active(),
      mode: await worker.mode(),
      data: await worker.data(),
      expiration: await worker.expiration(),
      lastUpdate: await worker.lastUpdate(),
      attempts: await Promise.all(attempts.map(async (a) => [a.id, await a.status(), await a.data(), await a.expirationTime()])),
    })
  }
  return { namespaces, specs, workers }
}
