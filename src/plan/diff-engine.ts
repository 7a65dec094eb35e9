/**
 * The port revision planning needs from a schema engine. Implementations live in src/engine/
 * (the in-process wasm engine, the Prisma CLI); planning code sees only this interface.
 */
import type { SchemaFile } from '../schema/compose.js';

/** One side of a diff: a set of schema files, or nothing at all. */
export type DiffSide = SchemaFile[] | 'empty';

/**
 * Computes the SQL that takes a database from one Prisma schema to another.
 *
 * @example
 *   const sql = await engine.diff('empty', [{ path: 'prisma/schema.prisma', content }]);
 */
export interface DiffEngine {
  readonly name: string;
  /** The migration script, or '' when the two sides are equivalent. */
  diff(from: DiffSide, to: DiffSide): Promise<string>;
  close(): Promise<void>;
}
