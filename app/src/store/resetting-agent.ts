import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import type { Socket } from "node:net";

/**
 * Keep-alive sockets that reset (RST) when destroyed instead of closing gracefully. A request
 * that timed out during a partition still has its body queued in the kernel: a graceful close
 * sends it, and a FIN after it, once the network heals, and ClickHouse runs the INSERT late,
 * after the retry's token check found nothing (the partition test saw one batch stored twice).
 * A reset discards the queue, so a request the client gave up on never completes on the server.
 * Plain TCP only: a TLS socket's handle has no reset, so https keeps Node's graceful close.
 */
export function resettingAgent(url: string): HttpAgent {
  if (url.startsWith("https:")) return new HttpsAgent({ keepAlive: true });
  const agent = new HttpAgent({ keepAlive: true });
  const create = agent.createConnection.bind(agent) as (...args: unknown[]) => Socket;
  (agent as unknown as { createConnection: (...args: unknown[]) => Socket }).createConnection = (...args: unknown[]) => {
    const socket = create(...args) as Socket & { resetAndClosing?: boolean; connecting: boolean };
    const destroy = socket.destroy.bind(socket);
    // What resetAndDestroy() sets (Node's lib/net.js _reset); set here so a destroy with an error keeps it.
    socket.destroy = (error?: Error) => {
      if (!socket.destroyed && !socket.connecting) socket.resetAndClosing = true;
      return destroy(error);
    };
    return socket;
  };
  return agent;
}
