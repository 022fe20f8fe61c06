/**
 * File URLs (`/api/files/{collection}/{record}/{name}`) and the short-lived token protected
 * files need: a browser's <img src> cannot send a bearer header, so the token rides in the URL.
 */
import type { Http } from './http.js'

export interface FileUrlOptions {
  /** A size the field declares in `thumbs`, e.g. `100x100`. */
  thumb?: string
  /** A token from `files.getToken()`, for protected files. */
  token?: string
}

export interface FilesApi {
  url(collection: string, recordId: string, name: string, options?: FileUrlOptions): string
  /** A token valid for about two minutes (`ER_FILE_TOKEN_TTL`) for the signed-in caller. */
  getToken(options?: { signal?: AbortSignal }): Promise<string>
}

export function createFilesApi(http: Http): FilesApi {
  return {
    url(collection, recordId, name, options = {}) {
      const path = [collection, recordId, name].map(encodeURIComponent).join('/')
      return http.url(`/api/files/${path}`, {
        thumb: options.thumb,
        token: options.token,
      })
    },
    async getToken(options = {}) {
      const answer = await http.request<{ token: string }>('/api/files/token', {
        method: 'POST',
        signal: options.signal,
      })
      return answer.token
    },
  }
}
