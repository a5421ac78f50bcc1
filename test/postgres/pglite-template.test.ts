import { existsSync, readdirSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openCoordinate } from '../../src/postgres/open.js'
import { type EmbeddedDatabase, openEmbedded, templateCacheDir, templateKey } from '../../src/postgres/pglite-template.js'

// PGlite itself, whatever server the run uses: the template is for the embedded database.
// Each PGlite open takes seconds on a busy machine, hence the long timeouts.
const scratch = await mkdtemp(join(tmpdir(), 'pglite-template-'))
const cacheDir = join(scratch, 'cache')
const template = join(cacheDir, `pglite-${templateKey('coordinate')}`)
afterAll(() => rm(scratch, { recursive: true, force: true }))

const count = async (embedded: EmbeddedDatabase): Promise<unknown[]> => (await embedded.pglite.query('SELECT n FROM coordinate.marker ORDER BY n')).rows

// Stands for the migrations: what the template must hold, and nothing written after it.
async function createdFromScratch(dataDir: string | undefined): Promise<void> {
  const embedded = await openEmbedded(dataDir, 'coordinate', cacheDir)
  expect(embedded.fromTemplate).toBe(false)
  await embedded.pglite.exec('CREATE SCHEMA coordinate; CREATE TABLE coordinate.marker (n integer)')
  await embedded.saveTemplate()
  await embedded.pglite.exec('INSERT INTO coordinate.marker VALUES (1)')
  await embedded.pglite.close()
}

describe('PGlite template', () => {
  it('for memory: a tarball cached by the first new database and unpacked by the next', async () => {
    await createdFromScratch(undefined)
    expect(existsSync(`${template}.tar.gz`)).toBe(true)
    const second = await openEmbedded(undefined, 'coordinate', cacheDir)
    expect(second.fromTemplate).toBe(true)
    expect(await count(second)).toEqual([])
    await second.pglite.close()
  }, 120_000)

  it('for a data directory: a directory cached by the first new one and copied into the next', async () => {
    await createdFromScratch(join(scratch, 'first'))
    expect(readdirSync(template)).toContain('PG_VERSION')
    // A mount point may already exist, and hold a file of someone else's.
    const dataDir = join(scratch, 'second')
    await mkdir(dataDir)
    await writeFile(join(dataDir, 'README'), 'mine')
    const second = await openEmbedded(dataDir, 'coordinate', cacheDir)
    expect(second.fromTemplate).toBe(true)
    expect(await count(second)).toEqual([])
    expect(await readFile(join(dataDir, 'README'), 'utf8')).toBe('mine')
    await second.pglite.exec('INSERT INTO coordinate.marker VALUES (7)')
    await second.pglite.close()
    // A directory that holds a database is opened as it is, never overwritten or cached.
    const reopened = await openEmbedded(dataDir, 'coordinate', cacheDir)
    expect(reopened.fromTemplate).toBe(false)
    expect(await count(reopened)).toEqual([{ n: 7 }])
    await reopened.saveTemplate()
    await reopened.pglite.close()
    const third = await openEmbedded(join(scratch, 'third'), 'coordinate', cacheDir)
    expect(await count(third)).toEqual([])
    await third.pglite.close()
  }, 120_000)

  it('is replaced when damaged', async () => {
    await writeFile(`${template}.tar.gz`, 'not a tarball')
    await createdFromScratch(undefined)
    const next = await openEmbedded(undefined, 'coordinate', cacheDir)
    expect(next.fromTemplate).toBe(true)
    await next.pglite.close()
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
        const coordinate = await openCoordinate({ dataDir: join(scratch, `coordinate-${round}`), leaseSweepMs: 0 })
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
