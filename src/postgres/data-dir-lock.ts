import { closeSync, mkdirSync, openSync, readFileSync, realpathSync, statSync, unlinkSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { type DataDirHolder, DataDirLockedError } from '../coordinate/errors.js'

/** The lock file's name inside the data directory (PGlite ignores files it does not know). */
export const LOCK_FILE = 'coordinate.lock'
const TAKEOVER_SUFFIX = '.takeover'
/** How long to wait for another process that is taking over a stale lock at the same moment. */
const TAKEOVER_WAIT_MS = 2_000
/** A lock file this old that still cannot be parsed was left by a crash between create and write. */
const UNREADABLE_GRACE_MS = 5_000

/** What the lock file holds: the holder, and a nonce so a holder only ever removes its own file. */
interface LockRecord extends DataDirHolder {
  nonce: string
  /** Linux only: the holder's start time in clock ticks since boot, to tell a reused pid apart. */
  procStart?: string
}

/** A held data-directory lock; release() removes it (idempotent). */
export interface DataDirLock {
  readonly directory: string
  release(): void
}

/**
 * Takes the lock of an embedded database's data directory (creating the directory if needed),
 * so that one process at a time opens it: PGlite is single-process, and two writers corrupt it.
 * The lock file is created with O_EXCL, holds the holder's pid, host and start time, and is
 * removed on release() or at process exit. A lock whose holder is dead (same host, pid gone or
 * reused) is taken over under a second O_EXCL file, so two starters cannot both take it over.
 * A refused attempt creates nothing. Throws DataDirLockedError naming the directory and holder.
 */
export async function lockDataDir(directory: string): Promise<DataDirLock> {
  mkdirSync(directory, { recursive: true })
  const dir = realpathSync(directory)
  const path = join(dir, LOCK_FILE)
  const mine = ownRecord()
  const deadline = Date.now() + TAKEOVER_WAIT_MS
  for (;;) {
    if (createExclusive(path, mine)) return heldLock(dir, path, mine.nonce)
    const found = readRecord(path)
    if (found === 'missing') continue
    if (!isStale(found, path)) throw new DataDirLockedError(dir, found === 'unreadable' ? undefined : holderOf(found))
    if (takeOver(path, found, mine)) return heldLock(dir, path, mine.nonce)
    if (Date.now() > deadline) throw new DataDirLockedError(dir, found === 'unreadable' ? undefined : holderOf(found))
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

function ownRecord(): LockRecord {
  return {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
    nonce: randomBytes(8).toString('hex'),
    procStart: processStart(process.pid),
  }
}

function holderOf(record: LockRecord): DataDirHolder {
  return { pid: record.pid, host: record.host, startedAt: record.startedAt }
}

// One write of the whole record right after O_EXCL creation; readers allow for the instant between.
function createExclusive(path: string, record: object): boolean {
  let fd: number
  try {
    fd = openSync(path, 'wx', 0o644)
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false
    throw error
  }
  try {
    writeSync(fd, `${JSON.stringify(record)}\n`)
  } finally {
    closeSync(fd)
  }
  return true
}

function readRecord(path: string): LockRecord | 'missing' | 'unreadable' {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return 'missing'
    throw error
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockRecord>
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string' && typeof parsed.nonce === 'string') {
      return { startedAt: '?', ...parsed } as LockRecord
    }
  } catch {
    // Falls through: a file being written this instant, or one a crash left half-written.
  }
  return 'unreadable'
}

// Only a holder on this host can be checked; a lock from another host (shared disk) is never taken over.
function isStale(found: LockRecord | 'unreadable', path: string): boolean {
  if (found === 'unreadable') return ageMs(path) > UNREADABLE_GRACE_MS
  if (found.host !== hostname()) return false
  if (!processAlive(found.pid)) return true
  if (found.pid === process.pid) return false
  const start = processStart(found.pid)
  return found.procStart !== undefined && start !== undefined && start !== found.procStart
}

/**
 * Replaces the stale lock `found` with ours while holding the takeover file, re-reading it first:
 * whoever else judged the same file stale either waits for us or finds our live lock after.
 */
function takeOver(path: string, found: LockRecord | 'unreadable', mine: LockRecord): boolean {
  const takeoverPath = path + TAKEOVER_SUFFIX
  if (!createExclusive(takeoverPath, { pid: mine.pid, host: mine.host, nonce: mine.nonce })) {
    const other = readRecord(takeoverPath)
    // A taker that died mid-takeover: clear its file so the next round can proceed.
    if (other !== 'missing' && isStale(other, takeoverPath)) removeIfSame(takeoverPath, other)
    return false
  }
  try {
    const now = readRecord(path)
    if (now !== 'missing' && !sameRecord(now, found)) return false
    if (now !== 'missing') unlinkSync(path)
    return createExclusive(path, mine)
  } finally {
    unlinkSync(takeoverPath)
  }
}

function sameRecord(a: LockRecord | 'unreadable', b: LockRecord | 'unreadable'): boolean {
  if (a === 'unreadable' || b === 'unreadable') return a === b
  return a.nonce === b.nonce
}

function removeIfSame(path: string, expected: LockRecord | 'unreadable'): void {
  const now = readRecord(path)
  if (now !== 'missing' && sameRecord(now, expected)) unlinkQuietly(path)
}

// Locks this process holds (path → nonce), removed at exit by one listener for all of them.
const heldLocks = new Map<string, string>()

function heldLock(directory: string, path: string, nonce: string): DataDirLock {
  if (heldLocks.size === 0) process.once('exit', releaseAllAtExit)
  heldLocks.set(path, nonce)
  return {
    directory,
    release: () => {
      if (heldLocks.get(path) !== nonce) return
      heldLocks.delete(path)
      if (heldLocks.size === 0) process.off('exit', releaseAllAtExit)
      removeOwn(path, nonce)
    },
  }
}

// A process that ends without close() still frees its directories; kill -9 leaves a stale lock.
function releaseAllAtExit(): void {
  for (const [path, nonce] of heldLocks) removeOwn(path, nonce)
  heldLocks.clear()
}

function removeOwn(path: string, nonce: string): void {
  const now = readRecord(path)
  if (now !== 'missing' && now !== 'unreadable' && now.nonce === nonce) unlinkQuietly(path)
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return errorCode(error) === 'EPERM'
  }
}

// Field 22 of /proc/<pid>/stat, counted after the parenthesised command name (which may hold spaces).
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs
  } catch {
    return 0
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path)
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error
  }
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined
}
