/** The audit trail's own check: the ledger verified with the hub's key and against its last anchor. */
import * as api from '../../devices/api.ts';
import type { VerifyResult } from '../db/ledger.ts';
import { defineRoute, type RouteDef } from './route.ts';

export function auditRoutes(verify: () => VerifyResult): RouteDef[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/api/v1/audit/verify',
      summary:
        "Verify the event ledger's chain with the hub's key and against the last anchor (`--audit-anchor`): the first event that does not hold, or the anchor it no longer matches",
      roles: ['operator'],
      response: { 200: api.ledgerCheck },
      handler: () => verify(),
    }),
  ];
}
