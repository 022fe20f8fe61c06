import type { FastifyRequest } from 'fastify'
import type { IncomingPart } from '../../services/files/files-service.js'

/**
 * A multipart request's parts as the files service reads them, in the order they arrive. File
 * parts are streams: each must be read (or drained) before the next part is produced.
 */
export async function* multipartParts(request: FastifyRequest): AsyncGenerator<IncomingPart> {
  for await (const part of request.parts()) {
    if (part.type === 'file') {
      // A browser sends an empty file input as a part with no name and no bytes: nothing sent.
      if (part.filename === '') {
        part.file.resume()
        continue
      }
      yield { kind: 'file', name: part.fieldname, filename: part.filename, stream: part.file }
    } else {
      yield { kind: 'field', name: part.fieldname, value: String(part.value) }
    }
  }
}
