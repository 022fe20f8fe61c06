import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { BlockList, isIP } from 'node:net'

/**
 * Addresses a webhook must not reach unless allowed: the server itself, its private networks,
 * link-local (cloud metadata at 169.254.169.254 and fd00:ec2::254), carrier-grade NAT,
 * unspecified, multicast and reserved ranges (RFC 6890 special-purpose registries).
 */
const FORBIDDEN = new BlockList()
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  FORBIDDEN.addSubnet(network, prefix, 'ipv4')
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  FORBIDDEN.addSubnet(network, prefix, 'ipv6')
}

/** Why `address` may not be reached, or undefined when it may. */
export function forbiddenAddress(address: string): string | undefined {
  const family = isIP(address)
  if (family === 0) return `"${address}" is not an IP address`
  // An IPv4-mapped IPv6 address (::ffff:127.0.0.1) is the IPv4 address it carries.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1]
  if (mapped) return forbiddenAddress(mapped)
  return FORBIDDEN.check(address, family === 4 ? 'ipv4' : 'ipv6')
    ? `${address} is a loopback, private, link-local or reserved address`
    : undefined
}

export class RefusedAddressError extends Error {
  override name = 'RefusedAddressError'
}

export interface OutgoingPolicy {
  /** Host names and addresses that may be reached even though they are private (lower case). */
  allowHosts: readonly string[]
  /** Whole request, redirects included (default 10 000 ms). */
  timeoutMs?: number
  /** Redirects followed, each checked like the first address (default 3). */
  maxRedirects?: number
  /** Bytes of the response body kept (default 4096). */
  maxResponseBytes?: number
}

export interface OutgoingResponse {
  status: number
  /** The first bytes of the body, as text. */
  body: string
  /** The URL that answered (after redirects). */
  url: string
}

const unbracket = (host: string) => host.replace(/^\[(.*)\]$/, '$1').toLowerCase()

/**
 * Checks a URL before anything is sent: http(s) only, and a host that is allowed or resolves
 * only to public addresses. A name that does not resolve passes (it is checked again when used).
 */
export async function checkOutgoingUrl(text: string, policy: OutgoingPolicy): Promise<URL> {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new RefusedAddressError(`"${text}" is not a URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new RefusedAddressError(`only http and https URLs are allowed, not ${url.protocol}`)
  }
  if (url.username || url.password)
    throw new RefusedAddressError('URLs with credentials are refused')
  const host = unbracket(url.hostname)
  if (policy.allowHosts.includes(host)) return url
  if (isIP(host)) {
    const reason = forbiddenAddress(host)
    if (reason) throw new RefusedAddressError(reason)
    return url
  }
  const addresses = await new Promise<LookupAddress[]>((resolve) =>
    dnsLookup(host, { all: true }, (error, found) => resolve(error ? [] : found)),
  )
  for (const { address } of addresses) refuseUnlessAllowed(host, address, policy)
  return url
}

function refuseUnlessAllowed(host: string, address: string, policy: OutgoingPolicy): void {
  if (policy.allowHosts.includes(address.toLowerCase())) return
  const reason = forbiddenAddress(address)
  if (reason) throw new RefusedAddressError(`${host} resolves to ${reason}`)
}

/**
 * POSTs `body` to `url`, checking the address after DNS resolution (in the socket's own lookup,
 * so a name cannot resolve to another address between check and connect) and again for every
 * redirect, which is followed with the same method and body.
 */
export async function postOutgoing(
  target: string,
  body: string,
  headers: Record<string, string>,
  policy: OutgoingPolicy,
): Promise<OutgoingResponse> {
  const deadline = Date.now() + (policy.timeoutMs ?? 10_000)
  let current = target
  for (let hop = 0; ; hop++) {
    const url = await checkOutgoingUrl(current, policy)
    const response = await send(url, body, headers, policy, deadline)
    const location = response.location
    if (response.status >= 300 && response.status < 400 && location) {
      if (hop >= (policy.maxRedirects ?? 3)) {
        throw new Error(`more than ${policy.maxRedirects ?? 3} redirects`)
      }
      current = new URL(location, url).toString()
      continue
    }
    return { status: response.status, body: response.body, url: url.toString() }
  }
}

function send(
  url: URL,
  body: string,
  headers: Record<string, string>,
  policy: OutgoingPolicy,
  deadline: number,
): Promise<{ status: number; body: string; location: string | undefined }> {
  const host = unbracket(url.hostname)
  const allowed = policy.allowHosts.includes(host)
  const limit = policy.maxResponseBytes ?? 4096
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        timeout: Math.max(1, deadline - Date.now()),
        // Every address the socket may connect to passes the check first.
        lookup: (hostname, options, callback) => {
          dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
            if (error) return callback(error, '', 0)
            try {
              if (!allowed)
                for (const a of addresses) refuseUnlessAllowed(hostname, a.address, policy)
            } catch (refused) {
              return callback(refused as Error, '', 0)
            }
            if (options.all)
              return (callback as (e: null, a: LookupAddress[]) => void)(null, addresses)
            const first = addresses[0] as LookupAddress
            callback(null, first.address, first.family)
          })
        },
      },
      (response: IncomingMessage) => {
        const chunks: Buffer[] = []
        let size = 0
        const finish = () =>
          resolve({
            status: response.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8').slice(0, limit),
            location: response.headers.location,
          })
        response.on('data', (chunk: Buffer) => {
          if (size < limit) chunks.push(chunk.subarray(0, limit - size))
          size += chunk.length
          // Enough kept: the rest of a large answer is not read.
          if (size >= limit) {
            response.destroy()
            finish()
          }
        })
        response.on('end', finish)
        response.on('error', reject)
      },
    )
    request.on('timeout', () => request.destroy(new Error('timed out')))
    request.on('error', reject)
    request.end(body)
  })
}
