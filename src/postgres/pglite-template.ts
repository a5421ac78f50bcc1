import { createHash } from 'node:crypto'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { homedir } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PGlite } from '@electric-sql/pglite'
import { STORED_FUNCTIONS_HASH } from './sql/stored-functions.js'

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
 * is opened as it is. A new database starts from the template for this schema, these
 * migrations and this PGlite version, if one is cached: a copy of a template directory for a
 * data directory (a native file copy), a template tarball unpacked into memory otherwise.
 */
export async function openEmbedded(dataDir: string | undefined, schema: string, cacheDir = templateCacheDir()): Promise<EmbeddedDatabase> {
  const existing = dataDir !== undefined && existsSync(join(dataDir, 'PG_VERSION'))
  if (existing || !cacheDir) return fromScratch(dataDir, undefined)
  const template = join(cacheDir, `pglite-${templateKey(schema)}`)
  const pglite = dataDir === undefined ? await fromTarball(`${template}.tar.gz`) : await fromDirectory(template, dataDir)
  if (pglite) return { pglite, fromTemplate: true, saveTemplate: async () => undefined }
  return fromScratch(dataDir, template)
}

async function fromScratch(dataDir: string | undefined, template: string | undefined): Promise<EmbeddedDatabase> {
  const pglite = await PGlite.create(dataDir)
  const saveTemplate = async (): Promise<void> => {
    if (!template) return
    // Everything written so far goes to the data files, so the template needs no recovery.
    await pglite.exec('CHECKPOINT')
    const saving = dataDir === undefined ? writeTarball(pglite, `${template}.tar.gz`) : copyDirectory(dataDir, template)
    // Caching is an optimisation: a full disk or a read-only home must not stop the open.
    await saving.catch(() => undefined)
  }
  return { pglite, fromTemplate: false, saveTemplate }
}

async function fromTarball(file: string): Promise<PGlite | undefined> {
  const tar = await readFile(file).catch(() => undefined)
  if (!tar) return undefined
  try {
    return await PGlite.create({ loadDataDir: new Blob([tar]) })
  } catch {
    // A damaged template: forget it, and build the database from scratch.
    await rm(file, { force: true })
    return undefined
  }
}

async function fromDirectory(template: string, dataDir: string): Promise<PGlite | undefined> {
  if (!existsSync(join(template, 'PG_VERSION'))) return undefined
  const copied = readdirSync(template)
  try {
    await cp(template, dataDir, { recursive: true })
    return await PGlite.create(dataDir)
  } catch {
    // A damaged template: take back what was copied (the directory may hold other files, a
    // mount point's say), forget the template, and build the database from scratch.
    for (const name of copied) await rm(join(dataDir, name), { recursive: true, force: true })
    await rm(template, { recursive: true, force: true })
    return undefined
  }
}

// What a PostgreSQL data directory holds at its top, less postmaster.pid and anything else
// that is about the running instance or not Postgres's at all.
const DATA_DIR_ENTRY = /^(PG_VERSION|base|global|pg_\w+(\.conf)?|postgresql(\.auto)?\.conf)$/

async function copyDirectory(dataDir: string, template: string): Promise<void> {
  // Copied aside and renamed: of two processes building it at once, one rename wins whole.
  const partial = `${template}.${process.pid}.partial`
  const top = resolve(dataDir)
  await mkdir(dirname(template), { recursive: true })
  await cp(top, partial, { recursive: true, filter: (source) => dirname(resolve(source)) !== top || DATA_DIR_ENTRY.test(basename(source)) })
  await rename(partial, template).catch(() => rm(partial, { recursive: true, force: true }))
}

async function writeTarball(pglite: PGlite, file: string): Promise<void> {
  const tar = await pglite.dumpDataDir('gzip')
  await mkdir(dirname(file), { recursive: true })
  const partial = `${file}.${process.pid}.partial`
  await writeFile(partial, new Uint8Array(await tar.arrayBuffer()))
  await rename(partial, file)
}

let migrationsHash: string | undefined

/**
 * Names a template by what it holds: the schema, every migration file's text, the stored
 * functions and the PGlite version. Changing, adding or squashing migrations, changing a
 * function, or upgrading PGlite names a new one. (A template that is somehow behind is still
 * brought up to date by the migrations that run at every open; it only costs time.)
 */
export function templateKey(schema: string): string {
  migrationsHash ??= hashMigrations()
  return createHash('sha256').update(`${schema}\0${pgliteVersion()}\0${migrationsHash}\0${STORED_FUNCTIONS_HASH}`).digest('hex').slice(0, 24)
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
