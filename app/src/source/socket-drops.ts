import { readFileSync } from "node:fs";

/**
 * Datagrams the kernel dropped for UDP sockets bound to `port` in this network namespace,
 * because their receive buffer was full: the `drops` column of /proc/net/udp and /proc/net/udp6
 * (Linux's udp4_format_sock/udp6_sock_seq_show print sk_drops there). Undefined where those
 * files do not exist. Counts every socket on the port, which is only ours unless another
 * process binds it with SO_REUSEPORT.
 */
export function udpReceiveDrops(port: number, tables: readonly string[] = ["/proc/net/udp", "/proc/net/udp6"]): number | undefined {
  let found = false;
  let drops = 0;
  for (const table of tables) {
    let text: string;
    try {
      text = readFileSync(table, "latin1");
    } catch {
      continue;
    }
    found = true;
    for (const line of text.split("\n").slice(1)) {
      const columns = line.trim().split(/\s+/);
      if (columns.length < 13) continue;
      const localPort = parseInt(columns[1].split(":")[1], 16);
      if (localPort === port) drops += Number(columns[columns.length - 1]);
    }
  }
  return found ? drops : undefined;
}
