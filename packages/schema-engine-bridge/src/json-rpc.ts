import readline from 'node:readline';
import type { Readable } from 'node:stream';

/**
 * JSON-RPC 2.0 over line-delimited JSON, in both directions, as Prisma's native schema
 * engine speaks it: the CLI sends requests on stdin and reads responses on stdout, and the
 * engine may itself send requests to the CLI (the `print` request of `migrate diff`), whose
 * responses then arrive on stdin.
 */
export interface RpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

/** Thrown by a handler to answer with a JSON-RPC error object. */
export class RpcError extends Error {
  readonly code: number;
  readonly data: unknown;
  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.code = code;
    this.data = data;
  }
  toJSON(): RpcErrorObject {
    return this.data === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, data: this.data };
  }
}

export type RpcHandler = (method: string, params: unknown) => Promise<unknown>;

type Id = number | string;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

export class JsonRpcPeer {
  private nextId = 0;
  private readonly pending = new Map<Id, Pending>();
  private readonly inFlight = new Set<Promise<void>>();
  private inputEnded = false;

  constructor(
    private readonly input: Readable,
    private readonly write: (line: string) => void,
    private readonly handler: RpcHandler,
    private readonly onUnhandled: (error: unknown) => void = () => {},
  ) {}

  /** Sends a request to the other side and waits for its response. */
  call(method: string, params: unknown): Promise<unknown> {
    if (this.inputEnded) return Promise.reject(new Error(`The client closed stdin, so it cannot answer the engine's \`${method}\` request.`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send({ jsonrpc: '2.0', method, params, id });
    });
  }

  /** Serves requests until the input ends, then waits for the requests still running. */
  async run(): Promise<void> {
    const lines = readline.createInterface({ input: this.input, crlfDelay: Infinity });
    for await (const line of lines) {
      if (line.trim() === '') continue;
      this.receive(line);
    }
    // No answer can arrive any more: fail our own calls first, so requests waiting on them end.
    this.inputEnded = true;
    for (const [, p] of this.pending) p.reject(new Error("The client closed stdin before answering the engine's request."));
    this.pending.clear();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private send(message: object): void {
    this.write(`${JSON.stringify(message)}\n`);
  }

  private receive(line: string): void {
    let message: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(line);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      message = parsed as Record<string, unknown>;
    } catch {
      this.send({ jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null });
      return;
    }
    const id = message.id as Id | undefined | null;
    if (typeof message.method === 'string') {
      const task = this.serve(message.method, message.params, id ?? undefined);
      this.inFlight.add(task);
      void task.finally(() => this.inFlight.delete(task));
      return;
    }
    if (id !== undefined && id !== null && ('result' in message || 'error' in message)) {
      const pending = this.pending.get(id);
      if (!pending) return;
      this.pending.delete(id);
      if ('error' in message && message.error) {
        const error = message.error as RpcErrorObject;
        pending.reject(new RpcError(error.code ?? -32000, error.message ?? 'Error', error.data));
      } else {
        pending.resolve(message.result);
      }
      return;
    }
    this.send({ jsonrpc: '2.0', error: { code: -32600, message: 'Invalid Request' }, id: id ?? null });
  }

  private async serve(method: string, params: unknown, id: Id | undefined): Promise<void> {
    try {
      const result = await this.handler(method, params);
      // Notifications (no id) get no response, as in JSON-RPC 2.0.
      if (id !== undefined) this.send({ jsonrpc: '2.0', result: result ?? null, id });
    } catch (error) {
      if (id === undefined) {
        this.onUnhandled(error);
        return;
      }
      const body = error instanceof RpcError ? error.toJSON() : { code: -32603, message: error instanceof Error ? error.message : String(error) };
      this.send({ jsonrpc: '2.0', error: body, id });
    }
  }
}
