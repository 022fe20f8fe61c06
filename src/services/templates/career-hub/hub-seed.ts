/**
 * The career hub's seed records. Figures come from a 2026 career guide for back-end developers
 * (US figures); the words are the template's own. Ids are fixed so that products can grant
 * enrolments in named bootcamps and a re-run can tell what is there.
 */

type Seed = Record<string, unknown>

const skill = (id: string, name: string, category: string, summary: string): Seed => ({
  id,
  name,
  category,
  summary,
})

export const SKILLS: Seed[] = [
  skill(
    'sk_python',
    'Python',
    'language',
    'Readable, batteries included; Django and Flask run on it.',
  ),
  skill(
    'sk_javascript',
    'JavaScript (Node.js)',
    'language',
    'One language on both sides of the wire.',
  ),
  skill('sk_java', 'Java', 'language', 'The enterprise staple; Spring is its back-end framework.'),
  skill('sk_go', 'Go', 'language', 'Small binaries and cheap concurrency for network services.'),
  skill('sk_rust', 'Rust', 'language', 'Speed with memory safety, for the hot paths.'),
  skill('sk_php', 'PHP', 'language', 'Still behind much of the web; Laravel and Symfony.'),
  skill('sk_ruby', 'Ruby', 'language', 'Optimised for programmer happiness; Rails.'),
  skill('sk_csharp', 'C#', 'language', '.NET services in many large companies.'),
  skill('sk_django', 'Django', 'framework', 'Python with an ORM, an admin and auth in the box.'),
  skill('sk_flask', 'Flask', 'framework', 'A small Python core you extend as you need.'),
  skill('sk_express', 'Express', 'framework', 'The minimal Node.js web framework.'),
  skill('sk_laravel', 'Laravel', 'framework', "PHP's most used full-stack framework."),
  skill('sk_symfony', 'Symfony', 'framework', 'Reusable PHP components and a framework on them.'),
  skill('sk_rails', 'Rails', 'framework', 'Convention over configuration, in Ruby.'),
  skill(
    'sk_spring',
    'Spring',
    'framework',
    'Dependency injection and everything around it, in Java.',
  ),
  skill(
    'sk_postgresql',
    'PostgreSQL',
    'database',
    'The relational database most new projects pick.',
  ),
  skill('sk_mysql', 'MySQL', 'database', 'The relational database behind a large part of the web.'),
  skill('sk_mongodb', 'MongoDB', 'database', 'Documents instead of rows.'),
  skill('sk_redis', 'Redis', 'database', 'In-memory data for caches, queues and counters.'),
  skill('sk_cloud', 'AWS, Azure, Google Cloud', 'platform', 'Where most services are deployed.'),
  skill(
    'sk_containers',
    'Docker and Kubernetes',
    'platform',
    'Ship the same image everywhere; run many.',
  ),
  skill('sk_git', 'Git', 'practice', 'Version control: the first tool of every team.'),
  skill('sk_apis', 'REST and GraphQL APIs', 'practice', 'Designing what clients call.'),
  skill(
    'sk_testing',
    'Automated testing and CI/CD',
    'practice',
    'Every change checked before it ships.',
  ),
  skill(
    'sk_microservices',
    'Microservices and message queues',
    'practice',
    'Splitting a system, and what that costs.',
  ),
  skill(
    'sk_scaling',
    'Caching, load balancing, monitoring',
    'practice',
    'Keeping it fast and knowing when it is not.',
  ),
  skill(
    'sk_security',
    'Security, GDPR and CCPA',
    'practice',
    'Finding weaknesses first; handling personal data lawfully.',
  ),
  skill(
    'sk_backups',
    'Backups and disaster recovery',
    'practice',
    'A restore you have tested is a backup.',
  ),
  skill(
    'sk_design',
    'System design and documentation',
    'practice',
    'Deciding, and writing down why.',
  ),
]

export const ROADMAP: Seed[] = [
  {
    id: 'rs_fundamentals',
    position: 1,
    title: 'Learn the fundamentals',
    summary:
      'Pick one core language and learn it well, with Git, Docker, a web framework and the package manager around it.',
    skills: ['sk_python', 'sk_javascript', 'sk_java', 'sk_git', 'sk_containers'],
  },
  {
    id: 'rs_projects',
    position: 2,
    title: 'Develop skills through projects',
    summary:
      'Build a REST API with sign-in and a database behind it; then split it into services, add a cache and a queue.',
    skills: ['sk_apis', 'sk_postgresql', 'sk_redis', 'sk_microservices', 'sk_testing'],
  },
  {
    id: 'rs_portfolio',
    position: 3,
    title: 'Build a portfolio',
    summary:
      'Present varied projects as case studies: the database design, the API, an integration, a performance fix, and what you learned.',
    skills: ['sk_design', 'sk_scaling'],
  },
  {
    id: 'rs_jobs',
    position: 4,
    title: 'Search for jobs',
    summary:
      "Use your school's connections, the job boards and your network; apply where your portfolio shows the work they need.",
    skills: [],
  },
]

const salary = (id: string, label: string, dimension: string, figures: Seed): Seed => ({
  id,
  label,
  dimension,
  currency: 'USD',
  ...figures,
})

export const SALARIES: Seed[] = [
  salary('sa_us_backend', 'Back-end developers, US', 'overall', {
    typical: 115000,
    low: 125000,
    high: 180000,
  }),
  salary('sa_us_all', 'All occupations, US average', 'overall', { typical: 56310 }),
  salary('sa_sf', 'San Francisco Bay Area', 'location', {
    typical: 150000,
    low: 160000,
    high: 220000,
  }),
  salary('sa_big_hubs', 'Seattle, New York, Austin', 'location', { low: 140000, high: 190000 }),
  salary('sa_national', 'US national average', 'location', { typical: 115000 }),
  salary('sa_cincinnati', 'Cincinnati, OH', 'location', { typical: 91000 }),
  salary('sa_mid_cities', 'Cincinnati, Denver, Atlanta', 'location', { low: 100000, high: 140000 }),
  salary('sa_entry', 'Entry level', 'level', { low: 85000, high: 110000 }),
  salary('sa_mid', 'Mid level (3–5 years)', 'level', { low: 120000, high: 160000 }),
  salary('sa_senior', 'Senior', 'level', { typical: 127000, low: 150000, high: 200000 }),
  salary('sa_principal', 'Principal or staff', 'level', { low: 250000 }),
]

export const EMPLOYERS: Seed[] = [
  {
    id: 'em_lattice',
    name: 'Lattice Freight',
    sector: 'start-up',
    about: 'Routing software for regional hauliers.',
  },
  {
    id: 'em_civic',
    name: 'Civic Data Office',
    sector: 'government',
    about: 'Open data services for a mid-sized city.',
  },
  {
    id: 'em_harbor',
    name: 'Harbor Health Systems',
    sector: 'healthcare',
    about: 'Scheduling and records for clinics.',
  },
]

export const POSTINGS: Seed[] = [
  {
    id: 'po_lattice_api',
    employer: 'em_lattice',
    title: 'Back-end developer (Node.js)',
    description: 'Own the route-planning API: Express, PostgreSQL, Redis queues. Mid level.',
    location: 'Austin, TX',
    remote: true,
    salary_low: 120000,
    salary_high: 150000,
    skills: ['sk_javascript', 'sk_express', 'sk_postgresql', 'sk_redis'],
  },
  {
    id: 'po_civic_python',
    employer: 'em_civic',
    title: 'Junior Python developer',
    description: 'Django services that publish the city budget and permits as open data.',
    location: 'Cincinnati, OH',
    remote: false,
    salary_low: 85000,
    salary_high: 100000,
    skills: ['sk_python', 'sk_django', 'sk_postgresql', 'sk_git'],
  },
  {
    id: 'po_harbor_platform',
    employer: 'em_harbor',
    title: 'Senior platform engineer',
    description:
      'Kubernetes, backups that restore, and the audit trail clinics are required to keep.',
    location: 'Seattle, WA',
    remote: true,
    salary_low: 160000,
    salary_high: 195000,
    skills: ['sk_go', 'sk_containers', 'sk_backups', 'sk_security'],
  },
]

export const BOOTCAMPS: Seed[] = [
  {
    id: 'bc_backend',
    title: 'Back-end bootcamp',
    kind: 'bootcamp',
    format: 'live online',
    weeks: 24,
    summary: 'From a first API to a deployed, tested service with a portfolio to show for it.',
    product: 'backend-bootcamp',
  },
  {
    id: 'bc_sql',
    title: 'SQL in a weekend',
    kind: 'class',
    format: 'live online',
    weeks: 1,
    summary: 'A single class to find out whether databases are your thing before you commit.',
    product: 'sql-class',
  },
  {
    id: 'bc_apis',
    title: 'Designing APIs',
    kind: 'class',
    format: 'self-paced',
    weeks: 2,
    summary: 'REST and GraphQL, pagination, errors and versioning, with exercises.',
    product: 'api-class',
  },
]

/** One product per bootcamp; a paid checkout grants an enrolment in it. */
export const PRODUCTS: Seed[] = [
  {
    id: 'backend-bootcamp',
    name: 'Back-end bootcamp seat',
    amount: 490000,
    bootcamp: 'bc_backend',
  },
  { id: 'sql-class', name: 'SQL in a weekend', amount: 14900, bootcamp: 'bc_sql' },
  { id: 'api-class', name: 'Designing APIs', amount: 9900, bootcamp: 'bc_apis' },
].map(({ bootcamp, ...product }) => ({
  ...product,
  currency: 'usd',
  description: `Enrolment in ${product.name}.`,
  grant: {
    collection: 'enrolments',
    record: { user: '@payer', bootcamp, checkout: '@checkout' },
  },
}))
