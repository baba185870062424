import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";

/**
 * Network namespaces joined by veth pairs for the end-to-end tests (VPN, network faults). Every namespace this
 * creates is removed by cleanup(), which also runs on process exit and on SIGINT/SIGTERM, so a
 * failed or interrupted run leaves nothing behind.
 */
export class NetnsLab {
  private readonly namespaces: string[] = [];
  private cleaned = false;
  private readonly onExit = () => this.cleanup();
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.cleanup();
    process.kill(process.pid, signal);
  };

  constructor(readonly prefix: string) {
    process.once("exit", this.onExit);
    process.once("SIGINT", this.onSignal);
    process.once("SIGTERM", this.onSignal);
  }

  static ip(args: string[]): string {
    return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  }

  /** Creates a namespace with loopback up and its own resolv.conf (vpnc-script edits that one). */
  addNamespace(role: string): string {
    const name = `${this.prefix}-${role}`;
    NetnsLab.ip(["netns", "add", name]);
    this.namespaces.push(name);
    mkdirSync(`/etc/netns/${name}`, { recursive: true });
    writeFileSync(`/etc/netns/${name}/resolv.conf`, "nameserver 127.0.0.1\n");
    this.exec(name, ["ip", "link", "set", "lo", "up"]);
    return name;
  }

  /** A veth pair between two namespaces with an address on each end. */
  link(a: { ns: string; ifname: string; address: string }, b: { ns: string; ifname: string; address: string }): void {
    NetnsLab.ip(["link", "add", a.ifname, "netns", a.ns, "type", "veth", "peer", "name", b.ifname, "netns", b.ns]);
    for (const end of [a, b]) {
      this.exec(end.ns, ["ip", "addr", "add", end.address, "dev", end.ifname]);
      this.exec(end.ns, ["ip", "link", "set", end.ifname, "up"]);
    }
  }

  /** A veth pair from this (the test's own) namespace into `ns`; the pair goes away with `ns`. */
  linkToHost(host: { ifname: string; address: string }, inner: { ns: string; ifname: string; address: string }): void {
    NetnsLab.ip(["link", "add", host.ifname, "type", "veth", "peer", "name", inner.ifname, "netns", inner.ns]);
    NetnsLab.ip(["addr", "add", host.address, "dev", host.ifname]);
    NetnsLab.ip(["link", "set", host.ifname, "up"]);
    this.exec(inner.ns, ["ip", "addr", "add", inner.address, "dev", inner.ifname]);
    this.exec(inner.ns, ["ip", "link", "set", inner.ifname, "up"]);
  }

  exec(ns: string, command: string[]): string {
    return execFileSync("ip", ["netns", "exec", ns, ...command], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  }

  cleanup(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    for (const name of this.namespaces.reverse()) {
      // Killing what still runs inside first lets the namespace go away at once.
      try {
        const pids = execFileSync("ip", ["netns", "pids", name], { encoding: "utf8" }).split("\n").filter(Boolean);
        for (const pid of pids) process.kill(Number(pid), "SIGKILL");
      } catch {
        // already gone
      }
      try {
        NetnsLab.ip(["netns", "del", name]);
      } catch {
        // already gone
      }
      rmSync(`/etc/netns/${name}`, { recursive: true, force: true });
    }
    process.off("exit", this.onExit);
    process.off("SIGINT", this.onSignal);
    process.off("SIGTERM", this.onSignal);
  }

  /** Namespaces of this lab that still exist (for the test's own leak check). */
  static existing(prefix: string): string[] {
    return NetnsLab.ip(["netns", "list"])
      .split("\n")
      .map((line) => line.split(" ")[0])
      .filter((name) => name.startsWith(prefix));
  }
}
