/**
 * The career hub's collections and access rules: a learner's skills and roadmap, salaries,
 * employers with their postings and the applications to them, portfolios with screenshots, and
 * bootcamps sold through payments. Who may see what is the point of the example:
 * an applicant sees only their own applications, an employer only those to their postings.
 */

type Json = Record<string, unknown>
const PUBLIC_READ = { list: '', view: '', create: null, update: null, delete: null }
const signedIn = '@request.auth.id != "" && @request.auth.collectionName = "users"'

export const HUB_COLLECTIONS: Json[] = [
  {
    name: 'users',
    type: 'auth',
    fields: [
      { name: 'name', type: 'text', max: 100 },
      { name: 'headline', type: 'text', max: 200 },
    ],
    rules: {
      list: null,
      view: 'id = @request.auth.id',
      create: '',
      update: 'id = @request.auth.id',
      delete: 'id = @request.auth.id',
    },
  },
  {
    name: 'skills',
    fields: [
      { name: 'name', type: 'text', required: true, max: 60, unique: true },
      {
        name: 'category',
        type: 'select',
        required: true,
        values: ['language', 'framework', 'database', 'platform', 'practice'],
      },
      { name: 'summary', type: 'text', max: 400 },
    ],
    rules: PUBLIC_READ,
  },
  {
    name: 'roadmap_steps',
    fields: [
      { name: 'position', type: 'number', required: true, integer: true, min: 1, max: 100 },
      { name: 'title', type: 'text', required: true, max: 120 },
      { name: 'summary', type: 'text', max: 2000 },
      { name: 'skills', type: 'relation', collection: 'skills', maxSelect: 50 },
    ],
    rules: PUBLIC_READ,
  },
  {
    name: 'progress',
    fields: [
      { name: 'user', type: 'relation', collection: 'users', required: true, onDelete: 'cascade' },
      { name: 'step', type: 'relation', collection: 'roadmap_steps', required: true },
      { name: 'status', type: 'select', required: true, values: ['started', 'done'] },
    ],
    indexes: [{ fields: ['user', 'step'], unique: true }],
    rules: {
      list: 'user = @request.auth.id',
      view: 'user = @request.auth.id',
      create: `${signedIn} && @request.body.user = @request.auth.id`,
      update: 'user = @request.auth.id && @request.body.user:isset = false',
      delete: 'user = @request.auth.id',
    },
  },
  {
    name: 'salaries',
    fields: [
      { name: 'label', type: 'text', required: true, max: 120 },
      {
        name: 'dimension',
        type: 'select',
        required: true,
        values: ['overall', 'location', 'level'],
      },
      { name: 'low', type: 'number', integer: true, min: 0 },
      { name: 'high', type: 'number', integer: true, min: 0 },
      { name: 'typical', type: 'number', integer: true, min: 0 },
      { name: 'currency', type: 'text', max: 3 },
    ],
    rules: PUBLIC_READ,
  },
  {
    name: 'employers',
    fields: [
      { name: 'name', type: 'text', required: true, max: 120 },
      {
        name: 'sector',
        type: 'select',
        values: [
          'technology',
          'start-up',
          'government',
          'education',
          'healthcare',
          'finance',
          'retail',
          'manufacturing',
        ],
      },
      { name: 'about', type: 'text', max: 2000 },
      { name: 'owner', type: 'relation', collection: 'users', onDelete: 'setNull' },
    ],
    rules: {
      list: '',
      view: '',
      create: `${signedIn} && @request.body.owner = @request.auth.id`,
      update: 'owner = @request.auth.id && @request.body.owner:isset = false',
      delete: 'owner = @request.auth.id',
    },
  },
  {
    name: 'postings',
    fields: [
      {
        name: 'employer',
        type: 'relation',
        collection: 'employers',
        required: true,
        onDelete: 'cascade',
      },
      { name: 'title', type: 'text', required: true, max: 160 },
      { name: 'description', type: 'text', max: 8000 },
      { name: 'location', type: 'text', max: 120 },
      { name: 'remote', type: 'bool' },
      { name: 'salary_low', type: 'number', integer: true, min: 0 },
      { name: 'salary_high', type: 'number', integer: true, min: 0 },
      { name: 'skills', type: 'relation', collection: 'skills', maxSelect: 20 },
      { name: 'open', type: 'bool', default: true },
    ],
    rules: {
      list: 'open = true || employer.owner = @request.auth.id',
      view: 'open = true || employer.owner = @request.auth.id',
      create: 'employer.owner = @request.auth.id',
      update: 'employer.owner = @request.auth.id && @request.body.employer:isset = false',
      delete: 'employer.owner = @request.auth.id',
    },
  },
  {
    name: 'applications',
    fields: [
      {
        name: 'posting',
        type: 'relation',
        collection: 'postings',
        required: true,
        onDelete: 'cascade',
      },
      {
        name: 'applicant',
        type: 'relation',
        collection: 'users',
        required: true,
        onDelete: 'cascade',
      },
      { name: 'letter', type: 'text', max: 8000 },
      {
        name: 'cv',
        type: 'file',
        protected: true,
        maxSize: 5 * 1024 * 1024,
        mimeTypes: ['application/pdf'],
      },
      {
        name: 'status',
        type: 'select',
        required: true,
        values: ['submitted', 'reviewing', 'interview', 'offer', 'declined'],
      },
    ],
    indexes: [{ fields: ['posting', 'applicant'], unique: true }],
    // The applicant and the posting's employer, nobody else; the applicant submits and may
    // withdraw, only the employer moves the status on.
    rules: {
      list: 'applicant = @request.auth.id || posting.employer.owner = @request.auth.id',
      view: 'applicant = @request.auth.id || posting.employer.owner = @request.auth.id',
      create: `${signedIn} && @request.body.applicant = @request.auth.id && @request.body.status = "submitted" && posting.open = true`,
      update:
        'posting.employer.owner = @request.auth.id && @request.body.posting:isset = false && @request.body.applicant:isset = false && @request.body.letter:isset = false && @request.body.cv:isset = false',
      delete: 'applicant = @request.auth.id',
    },
  },
  {
    // Written by the template's extension when someone applies to one of the user's postings
    // (templates/career-hub/extensions/career-hub.ts); read, marked read and dismissed by them.
    name: 'notifications',
    fields: [
      { name: 'user', type: 'relation', collection: 'users', required: true, onDelete: 'cascade' },
      {
        name: 'application',
        type: 'relation',
        collection: 'applications',
        required: true,
        onDelete: 'cascade',
      },
      { name: 'title', type: 'text', required: true, max: 300 },
      { name: 'read', type: 'bool' },
    ],
    indexes: [{ fields: ['application'], unique: true }],
    rules: {
      list: 'user = @request.auth.id',
      view: 'user = @request.auth.id',
      create: null,
      update:
        'user = @request.auth.id && @request.body.user:isset = false && @request.body.application:isset = false && @request.body.title:isset = false',
      delete: 'user = @request.auth.id',
    },
  },
  {
    name: 'portfolios',
    fields: [
      { name: 'owner', type: 'relation', collection: 'users', required: true, onDelete: 'cascade' },
      { name: 'headline', type: 'text', required: true, max: 160 },
      { name: 'about', type: 'text', max: 4000 },
    ],
    indexes: [{ fields: ['owner'], unique: true }],
    rules: {
      list: '',
      view: '',
      create: `${signedIn} && @request.body.owner = @request.auth.id`,
      update: 'owner = @request.auth.id && @request.body.owner:isset = false',
      delete: 'owner = @request.auth.id',
    },
  },
  {
    name: 'projects',
    fields: [
      {
        name: 'portfolio',
        type: 'relation',
        collection: 'portfolios',
        required: true,
        onDelete: 'cascade',
      },
      { name: 'title', type: 'text', required: true, max: 160 },
      { name: 'case_study', type: 'text', max: 20000 },
      { name: 'skills', type: 'relation', collection: 'skills', maxSelect: 20 },
      {
        name: 'screenshots',
        type: 'file',
        maxSelect: 8,
        maxSize: 8 * 1024 * 1024,
        mimeTypes: ['image/png', 'image/jpeg', 'image/webp'],
        thumbs: ['320x200', '960x0'],
      },
    ],
    rules: {
      list: '',
      view: '',
      create: 'portfolio.owner = @request.auth.id',
      update: 'portfolio.owner = @request.auth.id && @request.body.portfolio:isset = false',
      delete: 'portfolio.owner = @request.auth.id',
    },
  },
  {
    name: 'bootcamps',
    fields: [
      { name: 'title', type: 'text', required: true, max: 160 },
      { name: 'kind', type: 'select', required: true, values: ['bootcamp', 'class'] },
      { name: 'format', type: 'select', values: ['live online', 'self-paced'] },
      { name: 'weeks', type: 'number', integer: true, min: 1, max: 104 },
      { name: 'summary', type: 'text', max: 4000 },
      { name: 'product', type: 'text', max: 64 },
    ],
    rules: PUBLIC_READ,
  },
  {
    name: 'enrolments',
    fields: [
      { name: 'user', type: 'relation', collection: 'users', required: true, onDelete: 'cascade' },
      { name: 'bootcamp', type: 'relation', collection: 'bootcamps', required: true },
      { name: 'checkout', type: 'text', max: 64, unique: true },
    ],
    // Created only by a verified payment (the product's grant); read by the enrolled user.
    rules: {
      list: 'user = @request.auth.id',
      view: 'user = @request.auth.id',
      create: null,
      update: null,
      delete: null,
    },
  },
]
