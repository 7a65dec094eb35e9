/**
 * What the schema-engine bridge (packages/schema-engine-bridge, `orchestrate-schema-engine`)
 * takes from orchestrate, published as `orchestrate/bridge-support`: the in-process wasm schema
 * engine, the engine's adapter for work without a database, and PostgreSQL connection settings
 * read as libpq reads a URL. Nothing else of orchestrate is part of this entry.
 */
export { loadSchemaEngineRuntime, schemaEngineVersion } from './engine/wasm.js';
export type { WasmRuntime, WasmSchemaEngine } from './engine/wasm.js';
export { offlineFactory } from './engine/offline.js';
export { pgTarget } from './db/pg-config.js';
export type { PgTarget } from './db/pg-config.js';
export { clientConfigFor, openClient } from './db/postgres.js';
export { parseDatabaseUrl } from './db/url.js';
export type { ParsedDatabaseUrl } from './db/url.js';
