import type { Dialect } from './driver.js';
import { splitStatements, type Splitter } from './split.js';
import { splitSqliteStatements } from './split-sqlite.js';

/** The statement splitter that follows the dialect's lexical rules. */
export function splitterFor(dialect: Pick<Dialect, 'provider'>): Splitter {
  return dialect.provider === 'sqlite' ? splitSqliteStatements : splitStatements;
}
