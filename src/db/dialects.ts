import type { Provider } from '../project/provider.js';
import type { Dialect } from './driver.js';
import { postgresDialect } from './postgres-dialect.js';
import { sqliteDialect } from './sqlite-dialect.js';

/** The dialect of a provider, for SQL rendered without a connection (`--sql` before the database exists). */
export const dialectFor = (provider: Provider): Dialect => (provider === 'sqlite' ? sqliteDialect : postgresDialect);
