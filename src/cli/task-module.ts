import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { TaskList } from '../worker/options.js'

/** A handler module could not be imported, or does not export handlers. */
export class TaskModuleError extends Error {
  override name = 'TaskModuleError'
}

/**
 * Imports the module at `path` (relative to `cwd`) and returns its default export, checked to
 * map work spec names to functions.
 */
export async function loadTaskModule(path: string, cwd: string = process.cwd()): Promise<TaskList> {
  const url = pathToFileURL(resolve(cwd, path)).href
  let loaded: { default?: unknown }
  try {
    loaded = (await import(url)) as { default?: unknown }
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
    throw new TaskModuleError(`cannot load the handler module ${path}: ${reason}`, { cause: error })
  }
  const tasks = loaded.default
  if (typeof tasks !== 'object' || tasks === null || Array.isArray(tasks)) {
    throw new TaskModuleError(`the handler module ${path} must have a default export mapping work spec names to functions`)
  }
  const entries = Object.entries(tasks)
  if (entries.length === 0) throw new TaskModuleError(`the handler module ${path} exports no handlers`)
  const bad = entries.filter(([, handler]) => typeof handler !== 'function').map(([name]) => name)
  if (bad.length > 0) throw new TaskModuleError(`in ${path}, these handlers are not functions: ${bad.join(', ')}`)
  return tasks as TaskList
}
