/**
 * Engine Room's public API for embedding: open a store, build the engine, build the server.
 *
 * @example
 *   import { loadConfig, openEngine, buildServer } from 'engineroom'
 *   const { engine } = await openEngine(loadConfig({}, process.env))
 *   const app = await buildServer(engine)
 *   await app.listen({ port: 8090 })
 */
export { loadConfig, type Config } from './config/config.js'
export { openEngine, openStore, startServer } from './main.js'
export { buildServer, type ServerOptions } from './http/server.js'
export {
  createEngine,
  superuserContext,
  type Engine,
  type EngineOptions,
} from './services/create-engine.js'
export type { RequestContext } from './services/context.js'
export { EngineError, type ErrorCode } from './core/errors/index.js'
export type { CollectionDef, FieldDef, IndexDef, CollectionRules } from './core/schema/types.js'
export type { Store } from './adapters/store/store.js'
export { defineExtension } from './services/extensions/extension-api.js'
export type {
  AfterEvent,
  AuthEvent,
  AuthEventName,
  BeforeCreateEvent,
  BeforeDeleteEvent,
  BeforeUpdateEvent,
  Caller,
  ExtensionApi,
  ExtensionSetup,
  RecordAction,
  RecordsClient,
  RouteHandler,
  RouteMethod,
  RouteReply,
  RouteRequest,
  RouteSchema,
} from './services/extensions/extension-api.js'
export {
  loadExtension,
  ExtensionLoadError,
  type LoadedExtension,
} from './services/extensions/load-extension.js'
