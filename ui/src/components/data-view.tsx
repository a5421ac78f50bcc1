import type { DisplayValue } from '../../../src/rest/dashboard-types.js'

// Pretty-prints a data value, keeping Python's types visible: byte strings as b'…', tuples in
// parentheses, UUIDs as UUID('…'), and dicts with their keys in stored order.

/** A data value, indented. */
export function DataView({ value }: { value: DisplayValue }) {
  return <pre class="data">{render(value, 0)}</pre>
}

const INDENT = '  '

function render(value: DisplayValue, depth: number): preact.ComponentChild {
  if (value === null) return <span class="v-null">None</span>
  if (typeof value === 'boolean') return <span class="v-bool">{value ? 'True' : 'False'}</span>
  if (typeof value === 'number') return <span class="v-num">{String(value)}</span>
  if (typeof value === 'string') return <span class="v-str">{JSON.stringify(value)}</span>
  if (Array.isArray(value)) return sequence('[', ']', value, depth)
  switch (value.$) {
    case 'bytes':
      return <span class="v-bytes" title={`${atob(value.base64).length} bytes`}>{bytesLiteral(value.base64)}</span>
    case 'uuid':
      return <span class="v-uuid">UUID('{value.value}')</span>
    case 'int':
    case 'float':
      return <span class="v-num">{value.value}</span>
    case 'tuple':
      return sequence('(', value.items.length === 1 ? ',)' : ')', value.items, depth)
    case 'dict':
      return mapping(value.items.map(([k, v]) => [k, v] as [DisplayValue, DisplayValue]), depth)
    case 'map':
      return mapping(value.items, depth)
  }
}

function sequence(open: string, close: string, items: DisplayValue[], depth: number): preact.ComponentChild {
  if (items.length === 0) return `${open}${close}`
  const pad = INDENT.repeat(depth + 1)
  return (
    <>
      {open}
      {items.map((item) => (
        <>
          {'\n' + pad}
          {render(item, depth + 1)},
        </>
      ))}
      {'\n' + INDENT.repeat(depth) + close}
    </>
  )
}

function mapping(items: [DisplayValue, DisplayValue][], depth: number): preact.ComponentChild {
  if (items.length === 0) return '{}'
  const pad = INDENT.repeat(depth + 1)
  return (
    <>
      {'{'}
      {items.map(([k, v]) => (
        <>
          {'\n' + pad}
          {render(k, depth + 1)}: {render(v, depth + 1)},
        </>
      ))}
      {'\n' + INDENT.repeat(depth) + '}'}
    </>
  )
}

/** A byte string as Python writes it: printable ASCII as is, the rest as escapes. */
export function bytesLiteral(base64: string): string {
  const binary = atob(base64)
  let text = "b'"
  for (let i = 0; i < binary.length; i++) {
    const c = binary.charCodeAt(i)
    if (c === 0x5c) text += '\\\\'
    else if (c === 0x27) text += "\\'"
    else if (c === 0x0a) text += '\\n'
    else if (c === 0x09) text += '\\t'
    else if (c >= 0x20 && c < 0x7f) text += binary[i]
    else text += '\\x' + c.toString(16).padStart(2, '0')
  }
  return text + "'"
}

/** A value on one line, cut to `max` characters, for table cells. */
export function oneLine(value: DisplayValue, max = 80): string {
  const text = flat(value)
  return text.length > max ? text.slice(0, max - 1) + '…' : text
}

function flat(value: DisplayValue): string {
  if (value === null) return 'None'
  if (typeof value === 'boolean') return value ? 'True' : 'False'
  if (typeof value === 'number') return String(value)
  if (typeof value === 'string') return JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map(flat).join(', ')}]`
  switch (value.$) {
    case 'bytes':
      return bytesLiteral(value.base64)
    case 'uuid':
      return `UUID('${value.value}')`
    case 'int':
    case 'float':
      return value.value
    case 'tuple':
      return `(${value.items.map(flat).join(', ')}${value.items.length === 1 ? ',' : ''})`
    case 'dict':
      return `{${value.items.map(([k, v]) => `${JSON.stringify(k)}: ${flat(v)}`).join(', ')}}`
    case 'map':
      return `{${value.items.map(([k, v]) => `${flat(k)}: ${flat(v)}`).join(', ')}}`
  }
}
