import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openCoordinate } from '../../src/postgres/open.js'
import { openEmbedded, templateCacheDir, templateKey } from '../../src/postgres/pglite-template.js'

// PGlite itself, whatever server the run uses: the template is for the embedded database.
// Each PGlite open takes seconds on a busy machine, hence the long timeouts.
const scratch = await mkdtemp(join(tmpdir(), 'pglite-template-'))
const cacheDir = join(scratch, 'cache')
const templateFile = join(cacheDir, `pglite-${templateKey('coordinate')}.tar.gz`)
afterAll(() => rm(scratch, { recursive: true, force: true }))

describe('PGlite template', () => {
  it('is cached by the first open of a new database and unpacked by the next, which works like any', async () => {
    const first = await openEmbedded(undefined, 'coordinate', cacheDir)
    expect(first.fromTemplate).toBe(false)
    expect(existsSync(templateFile)).toBe(false)
    await first.pglite.exec('CREATE SCHEMA coordinate; CREATE TABLE coordinate.marker (n integer)')
    await first.saveTemplate()
    await first.pglite.close()
    expect(existsSync(templateFile)).toBe(true)

    const dataDir = join(scratch, 'data')
    const second = await openEmbedded(dataDir, 'coordinate', cacheDir)
    expect(second.fromTemplate).toBe(true)
    expect((await second.pglite.query('SELECT count(*)::integer AS n FROM coordinate.marker')).rows).toEqual([{ n: 0 }])
    await second.pglite.exec('INSERT INTO coordinate.marker VALUES (7)')
    await second.pglite.close()

    // A directory that holds a database is opened as it is, never overwritten.
    const reopened = await openEmbedded(dataDir, 'coordinate', cacheDir)
    expect(reopened.fromTemplate).toBe(false)
    expect((await reopened.pglite.query('SELECT n FROM coordinate.marker')).rows).toEqual([{ n: 7 }])
    await reopened.saveTemplate()
    await reopened.pglite.close()
    const stillEmpty = await openEmbedded(undefined, 'coordinate', cacheDir)
    expect((await stillEmpty.pglite.query('SELECT count(*)::integer AS n FROM coordinate.marker')).rows).toEqual([{ n: 0 }])
    await stillEmpty.pglite.close()
  }, 120_000)

  it('is replaced when damaged', async () => {
    await writeFile(templateFile, 'not a tarball')
    const embedded = await openEmbedded(undefined, 'coordinate', cacheDir)
    expect(embedded.fromTemplate).toBe(false)
    expect(existsSync(templateFile)).toBe(false)
    await embedded.saveTemplate()
    await embedded.pglite.close()
    expect(existsSync(templateFile)).toBe(true)
  }, 120_000)

  it('is named by the schema and the migrations, and stored where COORDINATE_CACHE_DIR says', () => {
    expect(templateKey('coordinate')).toMatch(/^[0-9a-f]{24}$/)
    expect(templateKey('other')).not.toBe(templateKey('coordinate'))
    expect(templateCacheDir({ COORDINATE_CACHE_DIR: '/somewhere' })).toBe('/somewhere')
    expect(templateCacheDir({ COORDINATE_CACHE_DIR: 'off' })).toBeUndefined()
    expect(templateCacheDir({ XDG_CACHE_HOME: '/xdg' })).toBe(join('/xdg', 'coordinate-ts'))
  })

  it('gives openCoordinate a migrated database, with or without a cached template', async () => {
    const previous = process.env.COORDINATE_CACHE_DIR
    process.env.COORDINATE_CACHE_DIR = join(scratch, 'coordinate-cache')
    try {
      for (let round = 0; round < 2; round++) {
        const coordinate = await openCoordinate({ leaseSweepMs: 0 })
        try {
          const ns = await coordinate.namespace('')
          const spec = await ns.setWorkSpec({ name: `spec-${round}` })
          await spec.addWorkUnits([{ key: 'a' }])
          expect(await ns.workSpecNames()).toEqual([`spec-${round}`])
        } finally {
          await coordinate.close()
        }
      }
    } finally {
      if (previous === undefined) delete process.env.COORDINATE_CACHE_DIR
      else process.env.COORDINATE_CACHE_DIR = previous
    }
  }, 120_000)
})
