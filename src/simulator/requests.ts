/**
 * Every request the simulator answered (admin calls excepted), for tests to assert on: what
 * was asked, what came back, at which virtual time, and which faults fired.
 */
export interface RecordedRequest {
  /** 1-based arrival order. */
  seq: number;
  method: string;
  path: string;
  params: Record<string, string>;
  /** HTTP status sent (101 for a WebSocket upgrade; 0 when the connection was reset before any). */
  status: number;
  /** Virtual time when the request arrived, epoch ms. */
  time: number;
  /** Request weight charged, if the endpoint has one. */
  weight?: number;
  /** Labels of the faults that fired on it. */
  faults?: string[];
}

export class RequestLog {
  private items: RecordedRequest[] = [];
  private next = 1;

  constructor(private readonly max = 100_000) {}

  /** Reserves the next sequence number (taken at arrival, so the order is arrival order). */
  seq(): number {
    return this.next++;
  }

  add(r: RecordedRequest): void {
    this.items.push(r);
    // Bounded: a long-running simulator must not grow without limit.
    if (this.items.length > this.max) this.items.splice(0, this.items.length - this.max);
  }

  /** Recorded requests in arrival order, optionally only those whose path starts with `path` or after `since`. */
  list(filter: { path?: string; since?: number } = {}): RecordedRequest[] {
    return this.items
      .filter((r) => filter.path === undefined || r.path.startsWith(filter.path))
      .filter((r) => filter.since === undefined || r.seq > filter.since)
      .sort((a, b) => a.seq - b.seq);
  }

  clear(): void {
    this.items = [];
  }

  get length(): number {
    return this.items.length;
  }
}
