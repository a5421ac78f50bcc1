import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { DataDirLockedError } from '../../src/coordinate/errors.js'
import { LOCK_FILE, lockDataDir } from '../../src/postgres/data-dir-lock.js'
import { openCoordinate } from '../../src/postgres/open.js'
import { spawnTsChild } from '../support/child-process.js'
import { rejection } from '../support/rejection.js'

const scratch = mkdtempSync(join(tmpdir(), 'coordinate-dir-lock-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

/** Every file under `dir` with its size, mtime and (for small files) content, plus the directory's own mtime. */
function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = { '.': String(statSync(dir).mtimeMs) }
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name)
    const stat = statSync(path)
    const body = entry.isFile() && stat.size < 4096 ? readFileSync(path, 'base64') : ''
    out[path.slice(dir.length)] = `${entry.isDirectory() ? 'd' : 'f'} ${stat.size} ${stat.mtimeMs} ${body}`
  }
  return out
}

describe('one Coordinate per PGlite data directory', () => {
  it('refuses a second open in the same process, names directory and holder, and changes nothing', async () => {
    const dir = join(scratch, 'same-process')
    const first = await openCoordinate({ dataDir: dir, leaseSweepMs: 0 })
    await (await first.namespace('')).setWorkSpec({ name: 'spec' })
    const before = fingerprint(dir)
    const error = await rejection(openCoordinate({ dataDir: dir, leaseSweepMs: 0 }), DataDirLockedError)
    expect(error.code).toBe('DATA_DIR_LOCKED')
    expect(error.directory).toBe(dir)
    expect(error.holder).toMatchObject({ pid: process.pid, host: hostname() })
    expect(error.message).toContain(dir)
    expect(error.message).toContain(String(process.pid))
    expect(fingerprint(dir)).toEqual(before)
    // The holder is untouched by the refusal, and closing frees the directory.
    expect(await (await first.namespace('')).workSpecNames()).toEqual(['spec'])
    await first.close()
    expect(readdirSync(dir)).not.toContain(LOCK_FILE)
    const again = await openCoordinate({ dataDir: dir, leaseSweepMs: 0 })
    expect(await (await again.namespace('')).workSpecNames()).toEqual(['spec'])
    await again.close()
  })

  it('refuses while another process holds it, and takes over after that process is killed with SIGKILL', async () => {
    const dir = join(scratch, 'two-processes')
    const holder = spawnTsChild('hold-data-dir.ts', [dir])
    const ready = await holder.next<{ ready: boolean; pid: number }>()
    expect(ready).toEqual({ ready: true, pid: holder.process.pid })
    const before = fingerprint(dir)
    const error = await rejection(openCoordinate({ dataDir: dir, leaseSweepMs: 0 }), DataDirLockedError)
    expect(error.holder?.pid).toBe(holder.process.pid)
    expect(fingerprint(dir)).toEqual(before)

    // A second process is refused the same way, with a clear message.
    const rival = spawnTsChild('hold-data-dir.ts', [dir])
    const refused = await rival.next<{ ready: boolean; locked: boolean; message: string }>()
    expect(refused).toMatchObject({ ready: false, locked: true })
    expect(refused.message).toContain(`process ${holder.process.pid}`)
    expect(await rival.exited).toBe(3)

    holder.process.kill('SIGKILL')
    expect(await holder.exited).toBe('SIGKILL')
    // The stale lock (its pid is gone) does not block the next start, and the data survived.
    const next = await openCoordinate({ dataDir: dir, leaseSweepMs: 0 })
    const spec = await (await next.namespace('')).workSpec('held')
    expect((await spec.workUnits({})).map((u) => u.name)).toEqual([`by-${holder.process.pid}`])
    await next.close()
  })

  it('never takes over a lock recorded on another host, whose process it cannot check', async () => {
    const dir = join(scratch, 'other-host')
    const held = await lockDataDir(dir)
    held.release()
    const record = { pid: 999_999_999, host: 'some-other-host', startedAt: '2026-01-01T00:00:00.000Z', nonce: 'x' }
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify(record))
    const error = await rejection(lockDataDir(dir), DataDirLockedError)
    expect(error.holder).toEqual({ pid: 999_999_999, host: 'some-other-host', startedAt: '2026-01-01T00:00:00.000Z' })
    // Same host, dead pid: stale, taken over.
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ ...record, host: hostname() }))
    const taken = await lockDataDir(dir)
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid })
    taken.release()
    expect(readdirSync(dir)).not.toContain(LOCK_FILE)
  })

  it('lets exactly one of many concurrent takers replace a stale lock', async () => {
    const dir = join(scratch, 'race')
    ;(await lockDataDir(dir)).release()
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: 999_999_999, host: hostname(), startedAt: 'then', nonce: 'stale' }))
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => lockDataDir(dir)))
    const won = results.filter((r) => r.status === 'fulfilled')
    expect(won).toHaveLength(1)
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(DataDirLockedError)
    ;(won[0] as PromiseFulfilledResult<{ release: () => void }>).value.release()
  })
})

describe('coordinated on a data directory in use', () => {
  it('refuses to start a second daemon on the same directory, naming the holder', async () => {
    const { runDaemon } = await import('../../src/cli/daemon.js')
    const { pino } = await import('pino')
    const dir = join(scratch, 'daemons')
    const logger = pino({ level: 'silent' })
    const first = await runDaemon({ dataDir: dir, port: 0, logger })
    const error = await runDaemon({ dataDir: dir, port: 0, logger }).then(
      () => new Error('started'),
      (e: unknown) => e as Error,
    )
    // The daemon names the start step that failed; the lock error is its cause, and in its message.
    expect(error.cause).toBeInstanceOf(DataDirLockedError)
    expect(error.message).toContain(`is in use by process ${process.pid}`)
    await first.stop()
    const second = await runDaemon({ dataDir: dir, port: 0, logger })
    await second.stop()
  })
})
