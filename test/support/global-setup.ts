import type { TestProject } from 'vitest/node'
import { findTestDatabase } from './find-database.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Server URL every test file makes its own database on; '' means PGlite in memory. */
    databaseUrl: string
  }
}

/** Picks the database the whole run uses, says which, and stops a container if one was started. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const target = await findTestDatabase()
  console.log(`[coordinate-ts tests] database: ${target.description}`)
  project.provide('databaseUrl', target.url)
  return target.stop
}
