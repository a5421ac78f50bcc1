import { useEffect, useState } from 'preact/hooks'
import { onAuthNeeded } from './api.js'
import { TokenPrompt } from './components/token-prompt.js'
import { useLiveStatus } from './live.js'
import { OverviewPage } from './pages/overview.js'
import { WorkSpecPage } from './pages/work-spec.js'
import { WorkUnitPage } from './pages/work-unit.js'
import { WorkersPage } from './pages/workers.js'
import { followLink, overviewUrl, useRoute, workersUrl } from './router.js'

const THEME_KEY = 'coordinate.theme'

/** The whole dashboard: header, the page the URL names, and the token prompt when needed. */
export function App() {
  const route = useRoute()
  const [askToken, setAskToken] = useState(false)
  const liveConnected = useLiveStatus()
  useEffect(() => onAuthNeeded(() => setAskToken(true)), [])
  useEffect(() => {
    // Focus goes to the new page's heading so keyboard and screen-reader users follow navigation.
    document.querySelector<HTMLElement>('main h1')?.focus()
  }, [route])
  return (
    <div onClick={(e) => followLink(e as unknown as MouseEvent)}>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <a class="brand" href={overviewUrl()}>coordinate</a>
        <nav aria-label="main">
          <a href={overviewUrl()} aria-current={route.page === 'overview' ? 'page' : undefined}>Overview</a>
          <a href={workersUrl('')} aria-current={route.page === 'workers' ? 'page' : undefined}>Workers</a>
        </nav>
        <span class={`live ${liveConnected ? 'on' : 'off'}`} title={liveConnected ? 'live updates on' : 'live updates reconnecting'}>
          {liveConnected ? '● live' : '○ offline'}
        </span>
        <ThemeToggle />
      </header>
      {route.page === 'overview' && <OverviewPage />}
      {route.page === 'spec' && <WorkSpecPage namespace={route.namespace} spec={route.spec} search={route.search} />}
      {route.page === 'unit' && <WorkUnitPage namespace={route.namespace} spec={route.spec} keySegment={route.key} />}
      {route.page === 'workers' && <WorkersPage namespace={route.namespace} />}
      {route.page === 'not-found' && (
        <main id="main">
          <h1>Not found</h1>
          <p>
            No page here. <a href={overviewUrl()}>Go to the overview.</a>
          </p>
        </main>
      )}
      {askToken && <TokenPrompt onDone={() => setAskToken(false)} />}
    </div>
  )
}

function ThemeToggle() {
  const [theme, setTheme] = useState(() => localStorage.getItem(THEME_KEY) ?? 'auto')
  useEffect(() => {
    if (theme === 'auto') delete document.documentElement.dataset.theme
    else document.documentElement.dataset.theme = theme
    localStorage.setItem(THEME_KEY, theme)
  }, [theme])
  return (
    <label class="theme">
      theme{' '}
      <select value={theme} onChange={(e) => setTheme(e.currentTarget.value)}>
        <option value="auto">system</option>
        <option value="light">light</option>
        <option value="dark">dark</option>
      </select>
    </label>
  )
}
