export { errorCatalogue, type ErrorCode } from './codes.js'
export {
  EngineError,
  invalidField,
  isEngineError,
  type FieldIssue,
  type FieldIssues,
} from './engine-error.js'
