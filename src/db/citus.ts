/**
 * Citus keeps the history tables on the coordinator only: a run pointed at a worker node would
 * find no history there and apply every migration again. Where `citus_is_coordinator()` exists
 * (Citus 11+), a run refuses any node where it returns false.
 */
import { RuntimeError } from '../errors.js';
import type { Driver } from './driver.js';

/** Throws before anything runs when `db` is a Citus worker node. */
export async function assertNotCitusWorker(db: Driver): Promise<void> {
  if (db.dialect.provider !== 'postgresql') return;
  if (db.embedded) return;
  const [found] = await db.query<{ present: boolean }>(`SELECT to_regprocedure('citus_is_coordinator()') IS NOT NULL AS present`);
  if (!found?.present) return;
  const [row] = await db.query<{ coordinator: boolean }>('SELECT citus_is_coordinator() AS coordinator');
  if (row?.coordinator === false) {
    throw new RuntimeError(
      `${db.location} is a Citus worker node (citus_is_coordinator() returned false), where migrations would be applied again outside the coordinator's history; point the URL at the Citus coordinator.`,
    );
  }
}
