import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ConsoleMessage, Page } from 'playwright-core'
import { build } from 'vite'
import { CHROMIUM } from '../../bench/chromium.js'

export { launchBrowser } from '../../bench/chromium.js'

/**
 * Why the browser tests cannot run here, or null if they can. In CI a missing browser is a
 * failure, not a skip: .ci/run installs it.
 */
export function browserMissing(): string | null {
  if (existsSync(CHROMIUM)) return null
  if (process.env.CI) throw new Error(`${CHROMIUM} is missing in CI; .ci/run should have installed the chromium package`)
  return `browser tests skipped: ${CHROMIUM} is missing (apt-get install chromium)`
}

/** Builds the dashboard into a fresh temporary directory; returns it and a function removing it. */
export async function buildDashboard(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'coordinate-ui-'))
  await build({ configFile: join(import.meta.dirname, '../../ui/vite.config.ts'), build: { outDir: dir, emptyOutDir: true }, logLevel: 'error' })
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) }
}

/** Collects the page's console errors and uncaught exceptions, to assert there are none. */
export function watchConsole(page: Page): string[] {
  const errors: string[] = []
  page.on('console', (message: ConsoleMessage) => {
    if (message.type() === 'error') errors.push(message.text())
  })
  page.on('pageerror', (error) => errors.push(String(error)))
  return errors
}

/** The directory screenshots go to (git-ignored). */
export const ARTIFACTS = join(import.meta.dirname, '../../test-artifacts')

/** Saves a full-page screenshot as test-artifacts/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true })
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true })
}
