import type { Transaction } from 'kysely'
import { encodeData } from '../coordinate/cbor-data.js'
import { type DataDict, type DataValue, Tuple, isDataDict } from '../coordinate/data.js'
import { InvalidInputError } from '../coordinate/errors.js'
import {
  type LockLabel,
  type LockPath,
  type LockResult,
  type LockService,
  assertLockPaths,
  heldByMessage,
  lockDeadline,
  notHeldMessage,
  notLockableMessage,
} from '../coordinate/locks.js'
import {
  LOCK_TABLE_SQL,
  READ_COMMITTED_SQL,
  blockedLocksSql,
  deleteExpiredLocksSql,
  deleteLockRangeSql,
  deleteLocksSql,
  insertLocksSql,
  liveLockOwnersSql,
  lockOwnersSql,
  renewLocksSql,
} from './sql/locks.js'
import type { Store } from './store.js'

// Storage: one row of `path_lock` per locked path (migrations/0001_baseline.ts), keyed by the
// concatenated canonical CBOR of its labels, so that prefix tests are byte-prefix tests.
//
// Concurrency: every writing operation runs in one READ COMMITTED transaction that starts by
// taking a transaction-scoped advisory lock on the lock table of this schema, so lock
// operations from every daemon run one at a time. That is simple and plainly correct (a check
// and the insert it allows cannot interleave with another's), and cheap enough: lock traffic
// is a few calls per worker per task, far from what one serialised short transaction can take.
// READ COMMITTED matters: each statement after the advisory lock sees everything committed
// before it was granted; a REPEATABLE READ snapshot would be taken before waiting for it.
// readlock takes no lock: one statement reads a consistent snapshot anyway.

/** Longest encoded path: a btree index entry must stay well under Postgres's ~2.7 kB limit. */
export const MAX_LOCK_KEY_BYTES = 2048

/** A path's storage key: its labels, each encoded as canonical CBOR, concatenated. */
export function lockPathKey(path: LockPath): Buffer {
  return encodePath(path).key
}

interface EncodedPath {
  key: Buffer
  /** The keys of the path's proper prefixes, from the empty path down. */
  prefixes: Buffer[]
}

function encodePath(path: LockPath): EncodedPath {
  const prefixes: Buffer[] = []
  const labels: Uint8Array[] = []
  let length = 0
  for (const label of path) {
    prefixes.push(Buffer.concat(labels, length))
    const encoded = encodeData(canonicalLabel(label))
    labels.push(encoded)
    length += encoded.length
    if (length > MAX_LOCK_KEY_BYTES) {
      throw new InvalidInputError(`a lock path must encode to at most ${MAX_LOCK_KEY_BYTES} bytes`)
    }
  }
  return { key: Buffer.concat(labels, length), prefixes }
}

/**
 * The smallest byte string greater than every key that starts with `key`. An encoded label
 * never starts with 0xff (the CBOR "break" byte), so the empty key's bound is 0xff and every
 * other key has a byte that can be incremented.
 */
export function keyUpperBound(key: Buffer): Buffer {
  let end = key.length
  while (end > 0 && key[end - 1] === 0xff) end--
  if (end === 0) return Buffer.from([0xff])
  const bound = Buffer.from(key.subarray(0, end))
  bound[end - 1]! += 1
  return bound
}

/** The locks of one store, in Postgres, so that every daemon on it sees the same ones. */
export class PostgresLocks implements LockService {
  readonly #store: Store

  constructor(store: Store) {
    this.#store = store
  }

  /** Locks all paths or none, in one transaction. */
  async lock(owner: string, timeoutMs: number, paths: readonly LockPath[]): Promise<LockResult> {
    const request = prepare(owner, paths)
    return this.#exclusive(async (trx, now) => {
      const deadline = lockDeadline(now, timeoutMs)
      const blocked = await this.#blocked(trx, request)
      const accepted: Buffer[] = []
      for (let i = 0; i < request.keys.length; i++) {
        const key = request.keys[i]!
        // An exact repeat asks for the same lock twice; any other overlap within one request
        // would leave two locks covering each other (go allowed it), so it fails like a
        // conflict with a lock already held.
        if (accepted.some((other) => other.equals(key))) continue
        if (blocked.has(i) || accepted.some((other) => overlaps(other, key))) {
          return { ok: false, message: notLockableMessage(paths[i]!) }
        }
        accepted.push(key)
      }
      await this.#insert(trx, accepted, owner, deadline)
      return { ok: true, message: null }
    })
  }

  /** Locks each lockable path, in order, in one transaction; a path overlapping an earlier one of the same call is not lockable. */
  async locksome(owner: string, timeoutMs: number, paths: readonly LockPath[]): Promise<(LockPath | null)[]> {
    const request = prepare(owner, paths)
    return this.#exclusive(async (trx, now) => {
      const deadline = lockDeadline(now, timeoutMs)
      const blocked = await this.#blocked(trx, request)
      const accepted: Buffer[] = []
      const result = request.keys.map((key, i): LockPath | null => {
        if (blocked.has(i) || accepted.some((other) => overlaps(other, key))) return null
        accepted.push(key)
        return paths[i]!
      })
      await this.#insert(trx, accepted, owner, deadline)
      return result
    })
  }

  /** Moves the deadline of every path to now + timeout if `owner` holds them all. */
  async renew(owner: string, timeoutMs: number, paths: readonly LockPath[]): Promise<LockResult> {
    const request = prepare(owner, paths)
    return this.#exclusive(async (trx, now) => {
      const deadline = lockDeadline(now, timeoutMs)
      const owners = await this.#owners(trx, request.keys)
      for (let i = 0; i < request.keys.length; i++) {
        const held = owners.get(hex(request.keys[i]!))
        if (held !== owner) return { ok: false, message: heldByMessage(paths[i]!, held ?? null) }
      }
      if (request.keys.length > 0) {
        await this.#store.rows(renewLocksSql(request.keys, deadline), trx)
      }
      return { ok: true, message: null }
    })
  }

  /** The owners of the exact paths, read in one statement without waiting for writers. */
  async readlock(paths: readonly LockPath[]): Promise<(string | null)[]> {
    assertLockPaths(paths)
    const keys = paths.map(lockPathKey)
    if (keys.length === 0) return []
    const rows = await this.#store.rows(liveLockOwnersSql(keys, this.#store.now()))
    const owners = new Map(rows.map((row) => [hex(row.key), row.owner]))
    return keys.map((key) => owners.get(hex(key)) ?? null)
  }

  /** Releases every path if `owner` holds them all. */
  async unlock(owner: string, paths: readonly LockPath[]): Promise<LockResult> {
    const request = prepare(owner, paths)
    return this.#exclusive(async (trx) => {
      const owners = await this.#owners(trx, request.keys)
      for (let i = 0; i < request.keys.length; i++) {
        const held = owners.get(hex(request.keys[i]!))
        if (held === undefined) return { ok: false, message: notHeldMessage(paths[i]!) }
        if (held !== owner) return { ok: false, message: heldByMessage(paths[i]!, held) }
      }
      if (request.keys.length > 0) {
        await this.#store.rows(deleteLocksSql(request.keys), trx)
      }
      return { ok: true, message: null }
    })
  }

  /** Releases the lock on `[prefix]` and every lock below it. */
  async deleteNamespace(prefix: LockLabel): Promise<number> {
    const key = lockPathKey([prefix])
    return this.#exclusive(async (trx) => {
      const row = await this.#store.row(deleteLockRangeSql(key, keyUpperBound(key)), trx)
      return row?.count ?? 0
    })
  }

  // Runs `fn` holding the lock table's advisory lock, after forgetting expired locks. The clock
  // is read once the lock is granted, so deadlines follow the order operations really ran in.
  async #exclusive<T>(fn: (trx: Transaction<unknown>, now: Date) => Promise<T>): Promise<T> {
    return this.#store.transaction(async (trx) => {
      // Whatever default_transaction_isolation says (go-coordinate set repeatable read). A
      // statement of its own, before the lock is taken, so the serialised part stays short.
      await this.#store.rows(READ_COMMITTED_SQL, trx)
      // Keyed by schema too: two coordinate stores in one database keep separate lock spaces.
      await this.#store.rows(LOCK_TABLE_SQL, trx)
      const now = this.#store.now()
      await this.#store.rows(deleteExpiredLocksSql(now), trx)
      return fn(trx, now)
    })
  }

  // The indexes (into keys) of the paths that a held lock blocks: a lock on the path itself or
  // below it (a range scan of the key index), or on one of its proper prefixes (equality).
  async #blocked(trx: Transaction<unknown>, request: PreparedRequest): Promise<Set<number>> {
    const keys = request.keys
    if (keys.length === 0) return new Set()
    const prefixOf: number[] = []
    const prefixKeys: Buffer[] = []
    request.paths.forEach((path, i) => {
      for (const prefix of path.prefixes) {
        prefixOf.push(i + 1)
        prefixKeys.push(prefix)
      }
    })
    const rows = await this.#store.rows(blockedLocksSql(keys, keys.map(keyUpperBound), prefixOf, prefixKeys), trx)
    return new Set(rows.map((row) => Number(row.i) - 1))
  }

  async #owners(trx: Transaction<unknown>, keys: readonly Buffer[]): Promise<Map<string, string>> {
    if (keys.length === 0) return new Map()
    const rows = await this.#store.rows(lockOwnersSql(keys), trx)
    return new Map(rows.map((row) => [hex(row.key), row.owner]))
  }

  async #insert(trx: Transaction<unknown>, keys: readonly Buffer[], owner: string, deadline: Date): Promise<void> {
    if (keys.length === 0) return
    await this.#store.rows(insertLocksSql(keys, owner, deadline), trx)
  }
}

interface PreparedRequest {
  keys: Buffer[]
  paths: EncodedPath[]
}

// Validates before any transaction starts, so bad input costs no round trip.
function prepare(owner: string, paths: readonly LockPath[]): PreparedRequest {
  if (typeof owner !== 'string') throw new InvalidInputError('a lock owner must be a string')
  assertLockPaths(paths)
  const encoded = paths.map(encodePath)
  return { keys: encoded.map((path) => path.key), paths: encoded }
}

// One key covers the other's path (or is it): a byte prefix, since encoded labels are self-delimiting.
function overlaps(a: Buffer, b: Buffer): boolean {
  const [short, long] = a.length <= b.length ? [a, b] : [b, a]
  return long.subarray(0, short.length).equals(short)
}

/**
 * The label in the one form that encodes the same for every deep-equal value: dict keys and
 * map entries sorted, whole numbers as numbers (not bigints), -0 as 0, string-keyed Maps as
 * dicts (the wire decodes them so).
 */
export function canonicalLabel(value: DataValue): DataValue {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value
  if (typeof value === 'number') return Object.is(value, -0) ? 0 : value
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return value
  if (value instanceof Tuple) return new Tuple(value.items.map(canonicalLabel))
  if (Array.isArray(value)) return value.map(canonicalLabel)
  if (value instanceof Map) {
    const entries = [...value].map(([k, v]): [DataValue, DataValue] => [canonicalLabel(k), canonicalLabel(v)])
    if (entries.every(([k]) => typeof k === 'string')) return sortedDict(entries as [string, DataValue][])
    const encoded = entries.map((entry) => ({ entry, key: Buffer.from(encodeData(entry[0])) }))
    encoded.sort((a, b) => Buffer.compare(a.key, b.key))
    return new Map(encoded.map(({ entry }) => entry))
  }
  if (isDataDict(value)) return sortedDict(Object.entries(value).map(([k, v]): [string, DataValue] => [k, canonicalLabel(v)]))
  return value
}

function sortedDict(entries: [string, DataValue][]): DataDict {
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  const dict: DataDict = {}
  // defineProperty: a "__proto__" label key must stay a key.
  for (const [k, v] of entries) Object.defineProperty(dict, k, { value: v, enumerable: true, writable: true, configurable: true })
  return dict
}

function hex(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex')
}
