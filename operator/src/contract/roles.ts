// What each role is, for every module that treats roles differently: which call a model (and so
// get the goal, the model settings and a budget), which execute generated code (and so hold no
// secret), which the pool's GPU settings apply to. One place, so both shells agree.
import { ROLES } from '../api/agent-context.js';
import { LLM_ROLES, type Role } from '../api/types.js';

export { ROLES };

const LLM: ReadonlySet<Role> = new Set<Role>(LLM_ROLES);
/** run and acceptance run the project's tests, i.e. code a model wrote: nothing worth stealing may be near them. */
const EXECUTES_GENERATED_CODE: ReadonlySet<Role> = new Set<Role>(['run', 'acceptance']);

export function isRole(v: unknown): v is Role {
  return typeof v === 'string' && (ROLES as readonly string[]).includes(v);
}

/** Does the role call a model (goal, model settings and a budget in its context)? */
export function callsModel(role: Role): boolean {
  return LLM.has(role);
}

/** Does the role execute generated code (no secret in its environment, its own failure report)? */
export function executesGeneratedCode(role: Role): boolean {
  return EXECUTES_GENERATED_CODE.has(role);
}
