/** What the content says a file is, whatever its name or the client's header claimed. */
export interface SniffedType {
  mime: string
  /** The extension stored names get for this type. */
  ext: string
}

/** Bytes read before deciding a type: enough for file-type's signatures and an image header. */
export const SNIFF_SAMPLE_BYTES = 64 * 1024

/**
 * The type of a file from its first bytes: binary formats by their signature (file-type), then
 * text, told apart by what it starts with, because HTML, SVG and XML are the types a browser
 * would run script from. Anything else is `application/octet-stream`.
 *
 * @example
 *   await sniffType(Buffer.from('\x7fELF…'), 'cat.png') // { mime: 'application/x-elf', ext: 'elf' }
 */
export async function sniffType(sample: Uint8Array, originalName: string): Promise<SniffedType> {
  // Loaded on the first upload: file-type and its readers are about 10 MB a server without
  // uploads need not hold.
  const { fileTypeFromBuffer } = await import('file-type')
  const detected = await fileTypeFromBuffer(sample)
  const fromName = /\.([a-z0-9]{1,10})$/i.exec(originalName)?.[1]?.toLowerCase()
  if (detected && detected.mime !== 'application/xml') {
    return { mime: detected.mime, ext: detected.ext }
  }
  const text = decodeText(sample)
  if (text === undefined) return { mime: 'application/octet-stream', ext: fromName ?? 'bin' }
  const head = text
    .replace(/^\uFEFF/, '')
    .trimStart()
    .slice(0, 4096)
    .toLowerCase()
  if (/^(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*|<!doctype svg[^>]*>\s*)*<svg[\s>]/.test(head))
    return { mime: 'image/svg+xml', ext: 'svg' }
  if (/^(<!--[\s\S]*?-->\s*)*<(!doctype html|html|head|body|script|iframe|meta)[\s>]/.test(head))
    return { mime: 'text/html', ext: 'html' }
  if (head.startsWith('<?xml') || detected?.mime === 'application/xml')
    return { mime: 'application/xml', ext: 'xml' }
  return { mime: 'text/plain', ext: fromName ?? 'txt' }
}

/** The sample as text when it is UTF-8 without control characters (a cut last character is fine). */
function decodeText(sample: Uint8Array): string | undefined {
  if (sample.length === 0) return ''
  const decoder = new TextDecoder('utf-8', { fatal: true })
  // The sample may end inside a multi-byte character: try without its last 1-3 bytes.
  for (let cut = 0; cut <= 3 && cut < sample.length; cut++) {
    try {
      const text = decoder.decode(sample.subarray(0, sample.length - cut))
      // eslint-disable-next-line no-control-regex
      return /[\u0000-\u0008\u000B\u000E-\u001A\u001C-\u001F\u007F]/.test(text) ? undefined : text
    } catch {
      continue
    }
  }
  return undefined
}
