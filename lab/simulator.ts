import { createSocket, type Socket } from "node:dgram";
import { packEvents } from "../app/src/client/packer";
import { seededRandom } from "../lib/seeded-random";
import type { PlaybackEvent, Source } from "../app/src/protocol/event";

export interface SimulatorOptions {
  readonly host: string;
  readonly port: number;
  readonly listeners: number;
  /** Simulated seconds per real second: 10 plays a 3-minute track in 18 s. */
  readonly speed: number;
  /** Share of datagrams dropped, duplicated and held back (sent after the next one). */
  readonly loss: number;
  readonly duplication: number;
  readonly reorder: number;
  readonly seed: number;
  readonly tracks?: number;
}

export interface SimulatorCounts {
  events: number;
  datagrams: number;
  dropped: number;
  duplicated: number;
  reordered: number;
}

const REGIONS = [
  ["eu-west", 0.35],
  ["us-east", 0.3],
  ["us-west", 0.1],
  ["apac", 0.15],
  ["latam", 0.1],
] as const;
const DEVICES = [
  ["ios", 0.35],
  ["android", 0.4],
  ["web", 0.15],
  ["desktop", 0.1],
] as const;
const SOURCE_WEIGHTS: ReadonlyArray<readonly [Source, number]> = [
  ["playlist", 0.4],
  ["album", 0.2],
  ["search", 0.15],
  ["radio", 0.1],
  ["artist", 0.1],
  ["other", 0.05],
];
const TICK_MS = 100;
const HEARTBEAT_MS = 15_000;

interface Listener {
  uid: string;
  region: string;
  device: string;
  sid: string;
  seq: number;
  /** Simulated ms at which this listener acts next. */
  nextAt: number;
  state: "idle" | "between" | "playing" | "paused" | "buffering";
  tracksLeft: number;
  pid: string;
  track: number;
  source: Source;
  listened: number;
  pos: number;
  duration: number;
  bufferingSince: number;
  plays: number;
}

/**
 * Simulates N listeners with Zipf track popularity: sessions of several plays, heartbeats every
 * 15 s, seeks, pauses, skips (mostly early), completes, buffering and session ends, across
 * regions, devices and sources. It sends through the client library's packing, like a player.
 */
export class ListenerSimulator {
  readonly counts: SimulatorCounts = { events: 0, datagrams: 0, dropped: 0, duplicated: 0, reordered: 0 };
  private readonly random: () => number;
  private readonly listeners: Listener[] = [];
  private readonly socket: Socket;
  private readonly zipfTotal: number;
  private readonly trackCount: number;
  private simulatedMs = 0;
  private timer?: NodeJS.Timeout;
  private heldBack?: Buffer;
  private sessionCounter = 0;

  constructor(private readonly options: SimulatorOptions) {
    for (const [name, value] of [
      ["loss", options.loss],
      ["duplication", options.duplication],
      ["reorder", options.reorder],
    ] as const) {
      if (!(value >= 0 && value < 1)) throw new Error(`simulator: ${name} ${value} must be in [0, 1)`);
    }
    if (!(options.listeners >= 1)) throw new Error(`simulator: listeners ${options.listeners} must be at least 1`);
    if (!(options.speed > 0)) throw new Error(`simulator: speed ${options.speed} must be positive`);
    this.random = seededRandom(options.seed);
    this.trackCount = options.tracks ?? 500;
    this.zipfTotal = Array.from({ length: this.trackCount }, (_, index) => 1 / (index + 1)).reduce((sum, weight) => sum + weight, 0);
    this.socket = createSocket(options.host.includes(":") ? "udp6" : "udp4");
    for (let index = 0; index < options.listeners; index++) {
      this.listeners.push({
        uid: `listener-${index}`,
        region: this.weighted(REGIONS),
        device: this.weighted(DEVICES),
        sid: "",
        seq: 0,
        nextAt: this.random() * 5_000,
        state: "idle",
        tracksLeft: 0,
        pid: "",
        track: 0,
        source: "other",
        listened: 0,
        pos: 0,
        duration: 0,
        bufferingSince: 0,
        plays: 0,
      });
    }
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private weighted<T>(table: ReadonlyArray<readonly [T, number]>): T {
    let roll = this.random();
    for (const [value, weight] of table) {
      roll -= weight;
      if (roll <= 0) return value;
    }
    return table[table.length - 1][0];
  }

  /** Track rank by Zipf's law: rank r is chosen with weight 1/r. */
  private zipfTrack(): number {
    let roll = this.random() * this.zipfTotal;
    for (let index = 0; index < this.trackCount; index++) {
      roll -= 1 / (index + 1);
      if (roll <= 0) return index;
    }
    return this.trackCount - 1;
  }

  private tick(): void {
    this.simulatedMs += TICK_MS * this.options.speed;
    const now = Date.now();
    const batch: PlaybackEvent[] = [];
    for (const listener of this.listeners) {
      while (listener.nextAt <= this.simulatedMs) this.step(listener, now, batch);
    }
    if (batch.length === 0) return;
    this.counts.events += batch.length;
    for (const datagram of packEvents(batch)) this.transmit(datagram);
  }

  private transmit(datagram: Buffer): void {
    if (this.random() < this.options.loss) {
      this.counts.dropped++;
      return;
    }
    if (!this.heldBack && this.random() < this.options.reorder) {
      this.heldBack = datagram;
      this.counts.reordered++;
      return;
    }
    this.send(datagram);
    if (this.random() < this.options.duplication) {
      this.counts.duplicated++;
      this.send(datagram);
    }
    if (this.heldBack) {
      const late = this.heldBack;
      this.heldBack = undefined;
      this.send(late);
    }
  }

  private send(datagram: Buffer): void {
    this.counts.datagrams++;
    this.socket.send(datagram, this.options.port, this.options.host);
  }

  private event(listener: Listener, now: number, type: PlaybackEvent["type"], extra: Partial<PlaybackEvent> = {}): PlaybackEvent {
    const base: PlaybackEvent = {
      v: 1,
      id: `${listener.sid}-${++listener.seq}`,
      type,
      sid: listener.sid,
      uid: listener.uid,
      t: now,
      seq: listener.seq,
      region: listener.region,
      device: listener.device,
      app: "lab-1.0",
    };
    if (type !== "session_start" && type !== "session_end" && type !== "error") {
      Object.assign(base, {
        pid: listener.pid,
        track: `track-${String(listener.track).padStart(4, "0")}`,
        artist: `artist-${String(listener.track % 97).padStart(3, "0")}`,
        pos: listener.pos,
        listened: listener.listened,
        source: listener.source,
        bitrate: listener.device === "web" ? 160 : 320,
      });
    }
    return Object.assign(base, extra);
  }

  private step(listener: Listener, now: number, out: PlaybackEvent[]): void {
    const r = this.random();
    switch (listener.state) {
      case "idle": {
        listener.sid = `lab-${this.options.seed}-${++this.sessionCounter}`;
        listener.seq = 0;
        listener.tracksLeft = 1 + Math.floor(this.random() * 8);
        out.push(this.event(listener, now, "session_start"));
        listener.state = "between";
        listener.nextAt += 500 + this.random() * 2_000;
        return;
      }
      case "between": {
        if (listener.tracksLeft-- <= 0) {
          out.push(this.event(listener, now, "session_end"));
          listener.state = "idle";
          listener.nextAt += 10_000 + this.random() * 60_000;
          return;
        }
        listener.track = this.zipfTrack();
        listener.pid = `${listener.sid}-p${++listener.plays}`;
        listener.source = this.weighted(SOURCE_WEIGHTS);
        listener.duration = 120_000 + ((listener.track * 7919) % 180_000);
        listener.listened = 0;
        listener.pos = 0;
        out.push(this.event(listener, now, "play"));
        listener.state = "playing";
        listener.nextAt += Math.min(HEARTBEAT_MS, 2_000 + this.random() * HEARTBEAT_MS);
        return;
      }
      case "paused": {
        out.push(this.event(listener, now, "resume"));
        listener.state = "playing";
        listener.nextAt += HEARTBEAT_MS;
        return;
      }
      case "buffering": {
        const stall = Math.round(listener.nextAt - listener.bufferingSince);
        out.push(this.event(listener, now, "buffer_end", { stall }));
        listener.state = "playing";
        listener.nextAt += HEARTBEAT_MS;
        return;
      }
      case "playing": {
        const elapsed = Math.min(HEARTBEAT_MS, listener.duration - listener.listened);
        listener.listened += elapsed;
        listener.pos = Math.min(listener.duration, listener.pos + elapsed);
        // Skips cluster early, as they do in real listening.
        const skipChance = listener.listened < 30_000 ? 0.12 : 0.03;
        if (listener.listened >= listener.duration) {
          out.push(this.event(listener, now, "complete"));
          this.endPlay(listener);
        } else if (r < skipChance) {
          out.push(this.event(listener, now, "skip"));
          this.endPlay(listener);
        } else if (r < skipChance + 0.04) {
          out.push(this.event(listener, now, "buffer_start"));
          listener.state = "buffering";
          listener.bufferingSince = listener.nextAt;
          listener.nextAt += 200 + this.random() * 4_000;
        } else if (r < skipChance + 0.06) {
          listener.pos = Math.min(listener.duration - 1_000, listener.pos + 30_000);
          out.push(this.event(listener, now, "seek"));
          listener.nextAt += HEARTBEAT_MS;
        } else if (r < skipChance + 0.08) {
          out.push(this.event(listener, now, "pause"));
          listener.state = "paused";
          listener.nextAt += 2_000 + this.random() * 20_000;
        } else if (r < skipChance + 0.081) {
          out.push(this.event(listener, now, "error", { code: "E_DECODE" }));
          this.endPlay(listener);
        } else {
          out.push(this.event(listener, now, "heartbeat"));
          listener.nextAt += HEARTBEAT_MS;
        }
        return;
      }
    }
  }

  private endPlay(listener: Listener): void {
    listener.state = "between";
    listener.nextAt += 300 + this.random() * 1_500;
  }
}
