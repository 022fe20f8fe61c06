/** Bytes of thumbnails one process keeps in memory by default. */
export const DEFAULT_THUMB_MEMORY_BYTES = 32 * 1024 * 1024
/** A thumbnail larger than this is streamed from the blob store each time, never kept. */
export const MAX_REMEMBERED_THUMB_BYTES = 512 * 1024
/**
 * What one entry holds besides its bytes (its key, the map entry, the Buffer object), counted
 * against the budget: else many tiny thumbnails would take several times the budget.
 */
const ENTRY_OVERHEAD_BYTES = 256

/**
 * Recently served thumbnails, held in memory (an LRU bounded by bytes), so that serving one again
 * costs no blob round trip: no stat, open, read and close on local disk, no GET on S3. On local
 * disk those calls and the stream around them made a stored thumbnail cost several times what
 * reading a record does (`bench/files.js`, row "thumbnail cached").
 *
 * A thumbnail's bytes depend only on its source's content, size and format, and a stored file
 * never gets new content (a replaced file gets a new name), so an entry never goes stale: the
 * caller keys it by the blob key and the source's hash, and nothing needs invalidating. Whether
 * the file may be served at all is decided before this is asked (the manifest, then the access
 * check), on every request; a removed file's entry only waits here to be evicted.
 *
 * @example
 *   const memory = createThumbnailMemory({ maxBytes: 8 << 20 })
 *   memory.remember('c1/r1/thumbs_a.png/50x50.png#9f…', bytes)
 *   memory.recall('c1/r1/thumbs_a.png/50x50.png#9f…') // bytes, now the most recently used
 */
export function createThumbnailMemory(options: { maxBytes?: number } = {}) {
  const maxBytes = options.maxBytes ?? DEFAULT_THUMB_MEMORY_BYTES
  // Map keeps insertion order: the first key is the least recently used.
  const entries = new Map<string, Buffer>()
  let bytes = 0

  function recall(key: string): Buffer | undefined {
    const hit = entries.get(key)
    if (hit) {
      entries.delete(key)
      entries.set(key, hit)
    }
    return hit
  }

  const costOf = (key: string, value: Buffer) => value.length + key.length + ENTRY_OVERHEAD_BYTES

  function remember(key: string, value: Buffer): void {
    if (value.length > MAX_REMEMBERED_THUMB_BYTES || costOf(key, value) > maxBytes) return
    // A small Buffer is often a slice of Node's shared 8 KiB pool (Buffer.concat, Buffer.from):
    // kept, it would keep the whole pool slab alive. Such a slice is copied to its own memory.
    const own =
      value.byteOffset === 0 && value.buffer.byteLength === value.length
        ? value
        : Buffer.from(new Uint8Array(value).buffer)
    const previous = entries.get(key)
    if (previous) {
      entries.delete(key)
      bytes -= costOf(key, previous)
    }
    entries.set(key, own)
    bytes += costOf(key, own)
    while (bytes > maxBytes) {
      const [coldest, evicted] = entries.entries().next().value as [string, Buffer]
      entries.delete(coldest)
      bytes -= costOf(coldest, evicted)
    }
  }

  return { recall, remember, size: () => ({ entries: entries.size, bytes }) }
}

export type ThumbnailMemory = ReturnType<typeof createThumbnailMemory>
