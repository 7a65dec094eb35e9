/**
 * Log lines in the format of Prisma's native schema engine: one JSON object per line on
 * stderr, `{"timestamp", "level", "fields": {"message", ...}, "target"}`. The Prisma CLI
 * parses every stderr line as JSON; it reports the `fields.message` of the last `ERROR`
 * line when the engine exits with code 1, so anything else on stderr would break it.
 */
export type LogLevel = 'ERROR' | 'WARN' | 'INFO' | 'DEBUG';

export interface BridgeLogger {
  log(level: LogLevel, message: string, fields?: Record<string, unknown>, target?: string): void;
  /** A line from the wasm engine's own logger (already JSON, without a timestamp). */
  engineLine(line: string): void;
}

/** The target the Prisma CLI looks for when it reads the error of a `cli` subcommand. */
export const ERROR_TARGET = 'schema_engine::logger';
const TARGET = 'orchestrate_schema_engine';

export function jsonLogger(write: (line: string) => void, now: () => Date = () => new Date()): BridgeLogger {
  const emit = (record: Record<string, unknown>) => write(`${JSON.stringify({ timestamp: now().toISOString(), ...record })}\n`);
  return {
    log(level, message, fields = {}, target = TARGET) {
      emit({ level, fields: { message, ...fields }, target });
    },
    engineLine(line) {
      for (const part of line.split('\n')) {
        if (part.trim() === '') continue;
        let record: Record<string, unknown>;
        try {
          const parsed: unknown = JSON.parse(part);
          record = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : { level: 'INFO', fields: { message: part }, target: TARGET };
        } catch {
          record = { level: 'INFO', fields: { message: part }, target: TARGET };
        }
        emit(record);
      }
    },
  };
}
