/**
 * The career hub template (README, "The career hub"): it loads into an empty database on both
 * dialects, a second run changes nothing, and its rules hold as a stranger would probe them —
 * an applicant never reads, counts, filters for or expands to another's application, an employer
 * sees only applications to their own postings, and enrolments come only from payments.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestPayments } from '../../src/adapters/payments/test/test-payments.js'
import { applyTemplate } from '../../src/services/templates/apply-template.js'
import { createRecord, expectProblem } from '../helpers/api-assertions.js'
import { availableDialects } from '../helpers/dialects.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'

const dialects = await availableDialects()

describe.each(dialects)('the career hub template on %s', (dialect) => {
  let t: TestEngine
  const tokens: Record<string, string> = {}
  const as = (who: string, method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) =>
    t.app.inject({
      method,
      url,
      ...(payload ? { payload } : {}),
      headers: { authorization: `Bearer ${tokens[who]}` },
    })
  const items = async (who: string, url: string) => {
    const res = await as(who, 'GET', url)
    expect(res.statusCode, res.body).toBe(200)
    return res.json() as { items: Record<string, unknown>[]; totalItems?: number }
  }

  beforeAll(async () => {
    t = await createTestEngine(dialect, {
      engine: {
        payments: {
          provider: createTestPayments({ secret: 'hub', publicUrl: () => 'http://localhost' }),
        },
      },
    })
    const lines: string[] = []
    const result = await applyTemplate(t.engine, 'career-hub', (line) => lines.push(line))
    expect(result.applied).toBe(true)
    expect(lines.some((l) => l.startsWith('records: skills'))).toBe(true)
    for (const who of ['ann', 'bob', 'eve']) {
      await createRecord(t, 'users', {
        id: `u${who}`,
        email: `${who}@example.com`,
        password: 'a long password',
        name: who,
      })
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/collections/users/auth/password',
        payload: { identity: `${who}@example.com`, password: 'a long password' },
      })
      tokens[who] = (res.json() as { token: string }).token
    }
  })
  afterAll(() => t?.close())

  it('loads collections, seed data and products, and a second run does nothing', async () => {
    const skills = await items('ann', '/api/collections/skills/records?perPage=100')
    expect(skills.items.map((s) => s.name)).toContain('PostgreSQL')
    const steps = await items('ann', '/api/collections/roadmap_steps/records?sort=position')
    expect(steps.items.map((s) => s.title)).toEqual([
      'Learn the fundamentals',
      'Develop skills through projects',
      'Build a portfolio',
      'Search for jobs',
    ])
    const bySf = await items(
      'ann',
      `/api/collections/salaries/records?filter=${encodeURIComponent('dimension = "location" && typical >= 150000')}`,
    )
    expect(bySf.items.map((s) => s.label)).toEqual(['San Francisco Bay Area'])
    const products = await t.app.inject({ method: 'GET', url: '/api/payments/products' })
    expect((products.json() as { items: unknown[] }).items).toHaveLength(3)
    const again = await applyTemplate(t.engine, 'career-hub')
    expect(again).toEqual({ applied: false, collections: [], records: 0, products: 0 })
  })

  it('keeps applications between their applicant and the posting’s employer', async () => {
    // Eve runs an employer with one posting; Ann and Bob apply to it, Ann also to a seeded one.
    const employer = await as('eve', 'POST', '/api/collections/employers/records', {
      id: 'em_eve',
      name: 'Eve Labs',
      owner: 'ueve',
    })
    expect(employer.statusCode, employer.body).toBe(201)
    const posting = await as('eve', 'POST', '/api/collections/postings/records', {
      id: 'po_eve',
      employer: 'em_eve',
      title: 'API developer',
    })
    expect(posting.statusCode, posting.body).toBe(201)
    expectProblem(
      await as('ann', 'POST', '/api/collections/postings/records', {
        employer: 'em_eve',
        title: 'not mine to post',
      }),
      403,
      'ER_FORBIDDEN',
    )
    for (const [who, to] of [
      ['ann', 'po_eve'],
      ['bob', 'po_eve'],
      ['ann', 'po_lattice_api'],
    ] as const) {
      const res = await as(who, 'POST', '/api/collections/applications/records', {
        id: `ap_${who}_${to}`,
        posting: to,
        applicant: `u${who}`,
        letter: `${who} secret letter`,
        status: 'submitted',
      })
      expect(res.statusCode, res.body).toBe(201)
    }
    // Applying in someone else's name, or straight to "offer", is refused.
    expectProblem(
      await as('bob', 'POST', '/api/collections/applications/records', {
        posting: 'po_lattice_api',
        applicant: 'uann',
        status: 'submitted',
      }),
      403,
      'ER_FORBIDDEN',
    )
    expectProblem(
      await as('bob', 'POST', '/api/collections/applications/records', {
        posting: 'po_lattice_api',
        applicant: 'ubob',
        status: 'offer',
      }),
      403,
      'ER_FORBIDDEN',
    )

    const annSees = await items('ann', '/api/collections/applications/records?count=true')
    expect(annSees.items.map((a) => a.id).sort()).toEqual([
      'ap_ann_po_eve',
      'ap_ann_po_lattice_api',
    ])
    expect(annSees.totalItems).toBe(2)
    const filtered = await items(
      'ann',
      `/api/collections/applications/records?count=true&filter=${encodeURIComponent('applicant = "ubob"')}`,
    )
    expect(filtered.items).toEqual([])
    expect(filtered.totalItems).toBe(0)
    expectProblem(
      await as('ann', 'GET', '/api/collections/applications/records/ap_bob_po_eve'),
      404,
      'ER_RECORD_NOT_FOUND',
    )
    const expanded = await as(
      'ann',
      'GET',
      '/api/collections/postings/records/po_eve?expand=applications_via_posting',
    )
    expect(expanded.statusCode, expanded.body).toBe(200)
    expect(expanded.body).not.toContain('bob secret letter')
    expect(expanded.body).toContain('ann secret letter')

    const eveSees = await items('eve', '/api/collections/applications/records')
    expect(eveSees.items.map((a) => a.id).sort()).toEqual(['ap_ann_po_eve', 'ap_bob_po_eve'])
    expect(JSON.stringify(eveSees)).not.toContain('ap_ann_po_lattice_api')
  })

  it('lets only the employer move an application on, and nobody rewrite its letter', async () => {
    expectProblem(
      await as('ann', 'PATCH', '/api/collections/applications/records/ap_ann_po_eve', {
        status: 'offer',
      }),
      403,
      'ER_FORBIDDEN',
    )
    const moved = await as('eve', 'PATCH', '/api/collections/applications/records/ap_ann_po_eve', {
      status: 'interview',
    })
    expect(moved.statusCode, moved.body).toBe(200)
    expectProblem(
      await as('eve', 'PATCH', '/api/collections/applications/records/ap_ann_po_eve', {
        letter: 'rewritten',
      }),
      403,
      'ER_FORBIDDEN',
    )
  })

  it('enrols through a paid checkout only', async () => {
    expectProblem(
      await as('ann', 'POST', '/api/collections/enrolments/records', {
        user: 'uann',
        bootcamp: 'bc_sql',
      }),
      403,
      'ER_FORBIDDEN',
    )
    const checkout = await as('ann', 'POST', '/api/payments/checkout', { product: 'sql-class' })
    expect(checkout.statusCode, checkout.body).toBe(201)
    const { id } = checkout.json() as { id: string }
    const paid = await t.app.inject({
      method: 'POST',
      url: `/api/payments/test/${id}/complete`,
      payload: { outcome: 'paid' },
    })
    expect(paid.statusCode, paid.body).toBe(200)
    const mine = await items('ann', '/api/collections/enrolments/records')
    expect(mine.items).toEqual([expect.objectContaining({ bootcamp: 'bc_sql', checkout: id })])
    expect((await items('bob', '/api/collections/enrolments/records')).items).toEqual([])
  })

  it('keeps progress per user', async () => {
    const mine = await as('ann', 'POST', '/api/collections/progress/records', {
      user: 'uann',
      step: 'rs_fundamentals',
      status: 'started',
    })
    expect(mine.statusCode, mine.body).toBe(201)
    expectProblem(
      await as('bob', 'POST', '/api/collections/progress/records', {
        user: 'uann',
        step: 'rs_projects',
        status: 'done',
      }),
      403,
      'ER_FORBIDDEN',
    )
    expect((await items('bob', '/api/collections/progress/records')).items).toEqual([])
  })
})
