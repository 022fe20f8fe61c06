import type { Mailer } from '../../adapters/mailer/mailer.js'
import type { Store } from '../../adapters/store/store.js'
import { EngineError, invalidField } from '../../core/errors/index.js'
import { renderTemplate, variablesIn } from '../../core/mail/render-template.js'
import { requireAdminScope } from '../admin-access.js'
import type { RequestContext } from '../context.js'

/** A template as stored and served: the subject and both bodies, with `{{variable}}`s. */
export interface MailTemplate {
  subject: string
  html: string
  text: string
  /** For a user-defined template, the variables it may use; fixed in code for built-in ones. */
  variables: string[]
}

export interface RenderedMail {
  subject: string
  html: string
  text: string
}

const SETTING_KEY = 'mail-templates'
const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/
const LIMITS = { subject: 500, body: 100_000, templates: 100, variables: 50 }

/** Variables every auth mail knows; `record.<field>` also reads the account's own fields. */
const AUTH_VARIABLES = ['link', 'email', 'expiresIn', 'collection', 'appUrl']

const footer = (what: string) =>
  `The link works once and expires in {{expiresIn}}. If you did not ask for ${what}, ignore this e-mail.`

function authMail(subject: string, intro: string, action: string, what: string): MailTemplate {
  return {
    subject,
    text: `${intro} by opening this link:\n\n{{link}}\n\n${footer(what)}\n`,
    html:
      `<p>${intro}:</p>\n<p><a href="{{link}}">${action}</a></p>\n` +
      `<p>Or paste this address into your browser: {{link}}</p>\n<p>${footer(what)}</p>\n`,
    variables: AUTH_VARIABLES,
  }
}

/** The mails the auth service sends, by template name; a superuser may override each. */
export const DEFAULT_TEMPLATES: Readonly<Record<string, MailTemplate>> = {
  verification: authMail(
    'Verify your e-mail',
    'Confirm your e-mail address',
    'Verify my e-mail',
    'this',
  ),
  'password-reset': authMail(
    'Reset your password',
    'Choose a new password',
    'Reset my password',
    'this',
  ),
  'email-change': authMail(
    'Confirm your new e-mail',
    'Confirm your new e-mail address',
    'Confirm my new e-mail',
    'this',
  ),
}

/** Values a preview fills in when the caller gives none. */
const SAMPLE_VALUES: Record<string, string> = {
  link: 'https://app.example.com/auth/verify-email#collection=users&token=erv_sample',
  email: 'ann@example.com',
  expiresIn: '3 days',
  collection: 'users',
  appUrl: 'https://app.example.com',
}

export type MailTemplatesService = ReturnType<typeof createMailTemplates>

/**
 * Named mail templates: defaults in code for the auth mails, overrides and user-defined ones
 * kept in one setting (written under a lock, so two PUTs cannot lose one another). A template
 * is checked when it is stored: a variable it may not use is refused then, naming it, so a
 * typo never reaches a user's inbox as an empty gap.
 */
export function createMailTemplates(deps: { store: Store; mailer: Mailer | undefined }) {
  const { store } = deps

  async function stored(): Promise<Record<string, MailTemplate>> {
    const text = await store.getSetting(SETTING_KEY)
    return text ? (JSON.parse(text) as Record<string, MailTemplate>) : {}
  }

  function checkName(name: string): void {
    if (!NAME_PATTERN.test(name)) {
      throw invalidField(
        'name',
        'pattern',
        'template names are 1–64 of a-z 0-9 _ - (first a-z 0-9)',
      )
    }
  }

  async function find(name: string): Promise<{ template: MailTemplate; overridden: boolean }> {
    checkName(name)
    const override = (await stored())[name]
    const template = override ?? DEFAULT_TEMPLATES[name]
    if (!template) {
      throw new EngineError('ER_MAIL_TEMPLATE_NOT_FOUND', `No mail template is named "${name}".`)
    }
    return { template, overridden: override !== undefined }
  }

  function describe(name: string, template: MailTemplate, overridden: boolean) {
    return { name, ...template, builtIn: name in DEFAULT_TEMPLATES, overridden }
  }

  function readString(body: Record<string, unknown>, field: string, max: number): string {
    const value = body[field]
    if (typeof value !== 'string') throw invalidField(field, 'required', 'is required (a string)')
    if (value.length > max) throw invalidField(field, 'too_long', `is at most ${max} characters`)
    return value
  }

  /** Validates a PUT body into a template: sizes, and only variables the template may use. */
  function parse(name: string, body: unknown): MailTemplate {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw invalidField('body', 'type', 'is an object { subject, html, text }')
    }
    const input = body as Record<string, unknown>
    const subject = readString(input, 'subject', LIMITS.subject)
    if (/[\r\n]/.test(subject)) throw invalidField('subject', 'invalid', 'is a single line')
    const html = readString(input, 'html', LIMITS.body)
    const text = readString(input, 'text', LIMITS.body)
    const builtIn = DEFAULT_TEMPLATES[name]
    let variables: string[]
    if (builtIn) {
      if (input.variables !== undefined) {
        throw invalidField('variables', 'fixed', `the variables of "${name}" are set by the engine`)
      }
      variables = builtIn.variables
    } else {
      const given = input.variables ?? []
      if (
        !Array.isArray(given) ||
        given.length > LIMITS.variables ||
        !given.every((v) => typeof v === 'string' && /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(v))
      ) {
        throw invalidField(
          'variables',
          'invalid',
          `is a list of at most ${LIMITS.variables} names (letters, digits, _)`,
        )
      }
      variables = [...new Set(given as string[])]
    }
    for (const [field, value] of [
      ['subject', subject],
      ['html', html],
      ['text', text],
    ] as const) {
      for (const used of variablesIn(value)) {
        const allowed =
          variables.includes(used) || (builtIn !== undefined && used.startsWith('record.'))
        if (!allowed) {
          throw invalidField(
            field,
            'unknown_variable',
            `uses the unknown variable {{${used}}}; "${name}" knows ${variables.map((v) => `{{${v}}}`).join(', ') || 'none'}${builtIn ? ' and {{record.<field>}}' : ''}`,
          )
        }
      }
    }
    return { subject, html, text, variables }
  }

  function render(template: MailTemplate, values: Readonly<Record<string, string>>): RenderedMail {
    return {
      subject: renderTemplate(template.subject, values, false).replace(/[\r\n]+/g, ' '),
      html: renderTemplate(template.html, values, true),
      text: renderTemplate(template.text, values, false),
    }
  }

  return {
    /** `GET /api/mail-templates`: built-in and user-defined templates, without bodies. */
    async list(ctx: RequestContext) {
      requireAdminScope(ctx, 'list')
      const overrides = await stored()
      const names = [...new Set([...Object.keys(DEFAULT_TEMPLATES), ...Object.keys(overrides)])]
      return {
        items: names.sort().map((name) => {
          const template = (overrides[name] ?? DEFAULT_TEMPLATES[name]) as MailTemplate
          return {
            name,
            subject: template.subject,
            variables: template.variables,
            builtIn: name in DEFAULT_TEMPLATES,
            overridden: name in overrides,
          }
        }),
      }
    },

    /** `GET /api/mail-templates/{name}`: the template in use (an override or the default). */
    async get(ctx: RequestContext, name: string) {
      requireAdminScope(ctx, 'view')
      const { template, overridden } = await find(name)
      return describe(name, template, overridden)
    },

    /** `PUT /api/mail-templates/{name}`: overrides a built-in template or stores a new one. */
    async put(ctx: RequestContext, name: string, body: unknown) {
      requireAdminScope(ctx, 'update')
      checkName(name)
      const template = parse(name, body)
      await store.transaction(async (tx) => {
        await tx.lockKey(SETTING_KEY)
        const text = await tx.getSetting(SETTING_KEY)
        const all = text ? (JSON.parse(text) as Record<string, MailTemplate>) : {}
        if (!(name in all) && Object.keys(all).length >= LIMITS.templates) {
          throw invalidField('name', 'too_many', `at most ${LIMITS.templates} templates are stored`)
        }
        all[name] = template
        await tx.setSetting(SETTING_KEY, JSON.stringify(all))
      })
      return describe(name, template, true)
    },

    /** `DELETE /api/mail-templates/{name}`: back to the default (a user-defined one is gone). */
    async remove(ctx: RequestContext, name: string) {
      requireAdminScope(ctx, 'delete')
      checkName(name)
      await store.transaction(async (tx) => {
        await tx.lockKey(SETTING_KEY)
        const text = await tx.getSetting(SETTING_KEY)
        const all = text ? (JSON.parse(text) as Record<string, MailTemplate>) : {}
        if (!(name in all)) {
          throw new EngineError(
            'ER_MAIL_TEMPLATE_NOT_FOUND',
            `No mail template "${name}" is stored (a built-in one without override has nothing to reset).`,
          )
        }
        delete all[name]
        await tx.setSetting(SETTING_KEY, JSON.stringify(all))
      })
    },

    /** `POST /api/mail-templates/{name}/preview` `{ variables? }`: renders with samples. */
    async preview(ctx: RequestContext, name: string, body: unknown) {
      requireAdminScope(ctx, 'view')
      const { template } = await find(name)
      const given = (body as { variables?: unknown } | undefined)?.variables ?? {}
      if (typeof given !== 'object' || given === null || Array.isArray(given)) {
        throw invalidField('variables', 'type', 'is an object of strings')
      }
      if (Object.keys(given).length > LIMITS.variables) {
        throw invalidField('variables', 'too_many', `at most ${LIMITS.variables} values`)
      }
      const values: Record<string, string> = {}
      for (const v of template.variables) values[v] = SAMPLE_VALUES[v] ?? `[${v}]`
      for (const [key, value] of Object.entries(given)) {
        if (typeof value !== 'string' || value.length > LIMITS.body) {
          throw invalidField(`variables.${key}`, 'type', 'is a string of at most 100000 characters')
        }
        values[key] = value
      }
      return render(template, values)
    },

    /** Renders `name` with `values` and sends it to `to` (the auth flows and extensions). */
    async send(name: string, to: string, values: Readonly<Record<string, string>>) {
      if (!deps.mailer) throw new EngineError('ER_UNAVAILABLE', 'No mailer is configured.')
      const { template } = await find(name)
      await deps.mailer.send({ to, ...render(template, values) })
    },
  }
}
