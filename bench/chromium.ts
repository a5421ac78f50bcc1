import { type Browser, chromium } from 'playwright-core'

// Headless Chromium from the system's package (Debian's `chromium`), never a downloaded build;
// shared by the dashboard's browser tests and its benchmark.

/** Where the system Chromium is. */
export const CHROMIUM = '/usr/bin/chromium'

/** The flags every launch uses: headless, no sandbox (root in CI), nothing phoning home. */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run']

/** Launches the system Chromium headless. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true })
}
