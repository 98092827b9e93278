/**
 * Who is asking, and the one place that decides what they may do. Every face — GraphQL (typed and
 * generic), the catalog, uploads, jobs, download URLs, OData and exports — asks `can()` / `visibleTeams()`
 * here and nowhere else.
 */
import { UserError } from '../errors.js';

export const KEY_ROLES = ['reader', 'ingest', 'admin'] as const;
export type KeyRole = (typeof KEY_ROLES)[number];

export interface Principal {
  /** Id of the API key, or undefined for the keyless loopback mode. */
  keyId: string | undefined;
  role: KeyRole;
  /** Teams the key is scoped to; `'*'` for every team (admin, and the keyless loopback mode). */
  teams: readonly string[] | '*';
}

/** The principal of the keyless mode: loopback only, while no key exists. */
export const LOOPBACK_PRINCIPAL: Principal = Object.freeze({ keyId: undefined, role: 'admin', teams: '*' });

export type Action =
  /** Read metrics, the catalog and exports of a team. */
  | 'read'
  /** Upload files, ingest objects and run sources of a team. */
  | 'ingest'
  /** Manage keys, see every job, retry and cancel jobs of any team. */
  | 'admin';

const ALLOWED: Record<KeyRole, readonly Action[]> = {
  reader: ['read'],
  ingest: ['read', 'ingest'],
  admin: ['read', 'ingest', 'admin'],
};

/** True when the principal may do `action` on `team` (omit team for team-less actions). */
export function can(principal: Principal, action: Action, team?: string): boolean {
  if (!ALLOWED[principal.role].includes(action)) return false;
  if (team === undefined || principal.teams === '*') return true;
  return principal.teams.includes(team);
}

/** Throws FORBIDDEN unless the principal may do `action` on `team`. */
export function assertCan(principal: Principal, action: Action, team?: string): void {
  if (!can(principal, action, team)) {
    throw new UserError('FORBIDDEN', team === undefined ? `this API key may not ${action}` : `this API key may not ${action} team "${team}"`);
  }
}

/** The teams among `all` that the principal may read, in the given order. */
export function visibleTeams(principal: Principal, all: readonly string[]): string[] {
  return principal.teams === '*' ? [...all] : all.filter((t) => (principal.teams as readonly string[]).includes(t));
}

/**
 * The object-key rule: object keys carry no team, so a team-scoped key may only ingest objects kept for a
 * target of its own teams — under `inbox/<target>/` or `raw/<target>/` — or it could copy another team's
 * raw files into its tables. `teamOfTarget` answers the team of a target name (undefined: no such target).
 */
export function assertMayIngestObject(principal: Principal, key: string, teamOfTarget: (target: string) => string | undefined): void {
  if (principal.teams === '*') return;
  const [area, owner] = key.split('/');
  const team = owner === undefined ? undefined : teamOfTarget(owner);
  if (!(area === 'inbox' || area === 'raw') || team === undefined || !can(principal, 'ingest', team)) {
    throw new UserError('FORBIDDEN', `this API key may only ingest objects under inbox/<target>/ or raw/<target>/ for targets of its teams, not "${key}"`);
  }
}
