/** Units of one spec changed: the listed keys, or (keys null) possibly any of them. */
export interface WorkUnitsChanged {
  kind: 'work-units'
  namespace: string
  workSpec: string
  keys: Uint8Array[] | null
}

/** A spec's definition or meta changed, or the spec was created or destroyed. */
export interface WorkSpecChanged {
  kind: 'work-spec'
  namespace: string
  workSpec: string
}

/** A namespace was destroyed (with everything in it). */
export interface NamespaceChanged {
  kind: 'namespace'
  namespace: string
}

/**
 * The feed may have lost events (its connection dropped and came back): whoever keeps copies
 * must revalidate them, for instance by comparing row versions.
 */
export interface ResyncNeeded {
  kind: 'resync'
}

/** One event of a change feed. */
export type ChangeEvent = WorkUnitsChanged | WorkSpecChanged | NamespaceChanged | ResyncNeeded

/** A source of change events, delivered after the writing transaction commits. */
export interface ChangeFeed {
  /** Calls `listener` for every event until the returned function is called. */
  subscribe(listener: (event: ChangeEvent) => void): () => void
}
