/** What a page shows before its first data arrives: a loading note, or the error that stopped it. */
export function LoadState({ error }: { error: Error | undefined }) {
  return (
    <main id="main" aria-busy={error === undefined}>
      {error === undefined ? <p class="quiet">Loading…</p> : <p class="error" role="alert">{error.message}</p>}
    </main>
  )
}
