import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createOutboxMailer } from './outbox-mailer.js'

describe('outbox mailer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'er-outbox-'))
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('writes a readable, owner-only .eml file and logs no part of the body', async () => {
    const lines: string[] = []
    const mailer = createOutboxMailer({
      dir: join(dir, 'outbox'),
      from: 'Engine Room <no-reply@localhost>',
      log: (fields, message) => lines.push(JSON.stringify({ ...fields, message })),
    })
    await mailer.send({
      to: 'ann@example.com',
      subject: 'Reset',
      text: 'Open https://x/#token=erp_SECRET',
    })
    const [file] = readdirSync(join(dir, 'outbox'))
    const path = join(dir, 'outbox', file as string)
    const eml = readFileSync(path, 'utf8')
    expect(eml).toMatch(
      /^From: Engine Room <no-reply@localhost>\r\nTo: ann@example.com\r\nSubject: Reset/,
    )
    expect(eml).toContain('erp_SECRET')
    expect(statSync(path).mode & 0o077).toBe(0)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain('ann@example.com')
    expect(lines[0]).not.toContain('erp_SECRET')
  })

  it('writes a mail with an HTML body as multipart/alternative, text first', async () => {
    const mailer = createOutboxMailer({
      dir: join(dir, 'html'),
      from: 'er@localhost',
      log: () => {},
    })
    await mailer.send({
      to: 'ann@example.com',
      subject: 'Hi',
      text: 'plain body',
      html: '<p>rich</p>',
    })
    const [file] = readdirSync(join(dir, 'html'))
    const eml = readFileSync(join(dir, 'html', file as string), 'utf8')
    const boundary = /boundary="([^"]+)"/.exec(eml)?.[1] as string
    expect(boundary).toMatch(/^er-[0-9a-f]{24}$/)
    const parts = eml.split(`--${boundary}`)
    expect(parts).toHaveLength(4)
    expect(parts[1]).toContain('Content-Type: text/plain; charset=utf-8\r\n\r\nplain body')
    expect(parts[2]).toContain('Content-Type: text/html; charset=utf-8\r\n\r\n<p>rich</p>')
    expect(parts[3]).toBe('--\r\n')
  })
})
