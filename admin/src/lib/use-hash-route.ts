import { useEffect, useState } from 'react'

/**
 * The route is the URL fragment (`#/collections/posts`): the server serves one page at `/_/`,
 * and a reload or a shared link lands on the same screen.
 */
export function useHashRoute(): string[] {
  const read = () =>
    location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent)
  const [parts, setParts] = useState(read)
  useEffect(() => {
    const update = () => setParts(read())
    window.addEventListener('hashchange', update)
    return () => window.removeEventListener('hashchange', update)
  }, [])
  return parts
}

export function navigate(...parts: string[]): void {
  location.hash = `#/${parts.map(encodeURIComponent).join('/')}`
}
