export interface SourceLimiterOptions {
  /** Sustained events per second one source address may send. */
  readonly eventsPerSecond: number;
  /** Bucket size: how far a source may burst above its rate. */
  readonly burst: number;
  /** Distinct sessions one source may open per session window. */
  readonly maxSessionsPerSource: number;
  /** How long a source's session count accumulates before it starts again. Default 60 s. */
  readonly sessionWindowMs?: number;
  /** Sources tracked at once; the least recently seen is forgotten first (counted). */
  readonly maxSources: number;
}

interface SourceState {
  tokens: number;
  refilledAt: number;
  sessions: Set<string>;
  sessionsSince: number;
  touchedAt: number;
}

/**
 * Per-source token buckets and session caps. Memory is bounded: at most maxSources sources,
 * each with at most maxSessionsPerSource session ids; evictions are counted.
 */
export class SourceLimiter {
  private readonly sources = new Map<string, SourceState>();
  evictions = 0;

  constructor(private readonly options: SourceLimiterOptions) {
    for (const [name, value] of Object.entries(options)) {
      if (value === undefined) continue;
      if (!(Number.isFinite(value) && value >= 1)) throw new Error(`SourceLimiter: ${name} ${value} must be at least 1`);
    }
  }

  /** The state for a datagram's source, refilled to `now`. */
  source(address: string, now: number): SourceState {
    let state = this.sources.get(address);
    if (state) {
      // Map order approximates least-recently-seen first; re-inserting at most once a second
      // keeps a busy source from paying two hash operations per datagram.
      if (now - state.touchedAt >= 1000) {
        this.sources.delete(address);
        this.sources.set(address, state);
        state.touchedAt = now;
      }
    } else {
      state = { tokens: this.options.burst, refilledAt: now, sessions: new Set(), sessionsSince: now, touchedAt: now };
      if (this.sources.size >= this.options.maxSources) {
        const oldest = this.sources.keys().next().value as string;
        this.sources.delete(oldest);
        this.evictions++;
      }
      this.sources.set(address, state);
    }
    const elapsed = Math.max(0, now - state.refilledAt) / 1000;
    state.tokens = Math.min(this.options.burst, state.tokens + elapsed * this.options.eventsPerSecond);
    state.refilledAt = now;
    if (now - state.sessionsSince >= (this.options.sessionWindowMs ?? 60_000)) {
      state.sessions = new Set();
      state.sessionsSince = now;
    }
    return state;
  }

  /** Takes one event's token and admits its session; false means rate-limited. */
  admit(state: SourceState, sid: string): boolean {
    if (state.tokens < 1) return false;
    if (!state.sessions.has(sid)) {
      if (state.sessions.size >= this.options.maxSessionsPerSource) return false;
      state.sessions.add(sid);
    }
    state.tokens -= 1;
    return true;
  }

  get size(): number {
    return this.sources.size;
  }
}
