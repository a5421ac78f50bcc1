// Names in URL paths, as the HTTP API encodes them: raw when safe, else `-` + base64url of the bytes.

const SAFE = /^[-._:A-Za-z0-9]+$/

/** The path segment for a name given as text. */
export function encodeName(name: string): string {
  if (name !== '' && !name.startsWith('-') && SAFE.test(name)) return name
  return '-' + base64url(new TextEncoder().encode(name))
}

/** The text a path segment stands for (invalid UTF-8 shows as U+FFFD). */
export function decodeName(segment: string): string {
  if (!segment.startsWith('-')) return segment
  return new TextDecoder().decode(fromBase64url(segment.slice(1)))
}

function base64url(bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

function fromBase64url(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'))
  return Uint8Array.from(binary, (c) => c.charCodeAt(0))
}
