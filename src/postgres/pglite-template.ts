import { createHash } from 'node:crypto'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PGlite } from '@electric-sql/pglite'

/**
 * A PGlite database opened for coordinate-ts. A new database starts from a cached, already
 * migrated data directory when there is one: running initdb and the migrations in PGlite takes
 * seconds, unpacking their result a fraction of that. `saveTemplate` caches a database that was
 * created from scratch, once migrated and before anything else touches it.
 */
export interface EmbeddedDatabase {
  pglite: PGlite
  /** Whether it was unpacked from the cached template. */
  fromTemplate: boolean
  /** Caches this database as the template, if it was created from scratch; otherwise does nothing. */
  saveTemplate(): Promise<void>
}

/** Where templates are cached: $COORDINATE_CACHE_DIR (`off` = never), else the user's cache directory. */
export function templateCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const configured = env.COORDINATE_CACHE_DIR
  if (configured === 'off') return undefined
  if (configured) return configured
  const base = env.XDG_CACHE_HOME || (homedir() ? join(homedir(), '.cache') : undefined)
  return base ? join(base, 'coordinate-ts') : undefined
}

/**
 * Opens PGlite in `dataDir` (in memory without one). A directory that already holds a database
 * is opened as it is; a new one is unpacked from the template for this schema, these
 * migrations and this PGlite version, if one is cached.
 */
export async function openEmbedded(dataDir: string | undefined, schema: string, cacheDir = templateCacheDir()): Promise<EmbeddedDatabase> {
  const existing = dataDir !== undefined && existsSync(join(dataDir, 'PG_VERSION'))
  const dirExisted = dataDir !== undefined && existsSync(dataDir)
  const file = cacheDir && !existing ? join(cacheDir, `pglite-${templateKey(schema)}.tar.gz`) : undefined
  const template = file ? await readFile(file).catch(() => undefined) : undefined
  if (file && template) {
    try {
      const pglite = await PGlite.create(dataDir, { loadDataDir: new Blob([template]) })
      return { pglite, fromTemplate: true, saveTemplate: async () => undefined }
    } catch {
      // A damaged template: forget it, and build the database from scratch below.
      await rm(file, { force: true })
      if (dataDir !== undefined && !dirExisted) await rm(dataDir, { recursive: true, force: true })
    }
  }
  const pglite = await PGlite.create(dataDir)
  const saveTemplate = async (): Promise<void> => {
    if (!file) return
    await writeTemplate(pglite, file).catch(() => undefined)
  }
  return { pglite, fromTemplate: false, saveTemplate }
}

async function writeTemplate(pglite: PGlite, file: string): Promise<void> {
  // Everything written so far goes to the data files, so the template needs no recovery.
  await pglite.exec('CHECKPOINT')
  const tar = await pglite.dumpDataDir('gzip')
  await mkdir(dirname(file), { recursive: true })
  // Written aside and renamed: two processes building it at once each leave a whole file.
  const partial = `${file}.${process.pid}.partial`
  await writeFile(partial, new Uint8Array(await tar.arrayBuffer()))
  await rename(partial, file)
}

let migrationsHash: string | undefined

/**
 * Names a template by what it holds: the schema, every migration file's text and the PGlite
 * version. Changing, adding or squashing migrations, or upgrading PGlite, names a new one.
 */
export function templateKey(schema: string): string {
  migrationsHash ??= hashMigrations()
  return createHash('sha256').update(`${schema}\0${pgliteVersion()}\0${migrationsHash}`).digest('hex').slice(0, 24)
}

function hashMigrations(): string {
  // migrations/ sits two levels above this file, both in the sources and in dist/.
  const dir = fileURLToPath(new URL('../../migrations/', import.meta.url))
  const hash = createHash('sha256')
  const files = readdirSync(dir)
    .filter((name) => /\.(ts|js)$/.test(name) && !name.endsWith('.d.ts'))
    .sort()
  for (const name of files) hash.update(`${name}\0`).update(readFileSync(join(dir, name))).update('\0')
  return hash.digest('hex')
}

function pgliteVersion(): string {
  let dir = dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'))
  for (;;) {
    const path = join(dir, 'package.json')
    if (existsSync(path)) {
      const pkg = JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown; version?: unknown }
      if (pkg.name === '@electric-sql/pglite') return String(pkg.version)
    }
    const parent = dirname(dir)
    if (parent === dir) return 'unknown'
    dir = parent
  }
}
