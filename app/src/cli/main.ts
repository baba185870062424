#!/usr/bin/env node
import { Command } from "commander";
import { readFileSync } from "node:fs";
import { UdpEventClient } from "../client/udp-client";
import { Collector } from "../collector";
import { SETTINGS, configFromEnvironment, parseCollectorConfig, type CollectorConfigInput } from "../config";
import { validateEvent } from "../protocol/decode";
import type { PlaybackEvent } from "../protocol/event";

const program = new Command().name("collector").description("UDP collector for playback events");

const serve = program
  .command("serve")
  .description("receive events over UDP, store them and serve insights over HTTP (flags override COLLECTOR_* variables)");
// Generated from the settings' schema: every flag, its variable and its default come from config.ts.
for (const setting of SETTINGS) {
  if (!setting.flag) continue;
  const defaults = setting.defaultValue !== undefined ? `; default ${setting.defaultValue === "" ? '""' : setting.defaultValue}` : "";
  serve.option(`${setting.flag} <value>`, `${setting.description} (${setting.env}${defaults})`);
}
serve
  .addHelpText(
    "after",
    `\nFrom the environment only (secrets): ${SETTINGS.filter((setting) => !setting.flag)
      .map((setting) => setting.env)
      .join(", ")}`,
  )
  .action(async (flags: Record<string, string>) => {
    let collector: Collector;
    try {
      const fromEnvironment = configFromEnvironment();
      const origins = Object.fromEntries(
        SETTINGS.flatMap((setting) =>
          setting.key in flags ? [[setting.key, setting.flag!]] : setting.key in fromEnvironment ? [[setting.key, setting.env]] : [],
        ),
      );
      const config = parseCollectorConfig({ ...fromEnvironment, ...flags } as CollectorConfigInput, origins);
      collector = await Collector.create(config);
      await collector.start();
    } catch (error) {
      process.stderr.write(`collector: ${(error as Error).message}\n`);
      process.exit(2);
    }
    collector.log.info({ http: collector.httpPort, udp: collector.udpPort }, "collector running");
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      collector.log.info({ signal }, "stopping: intake closed, draining the spool into the store");
      const drained = await collector.stop();
      process.exit(drained ? 0 : 1);
    };
    process.on("SIGTERM", () => void stop("SIGTERM"));
    process.on("SIGINT", () => void stop("SIGINT"));
  });

program
  .command("send")
  .description("send events from a newline-delimited JSON file (for manual testing)")
  .requiredOption("--file <path>", "events, one JSON object per line")
  .option("--host <host>", "collector address", "127.0.0.1")
  .option("--port <port>", "collector UDP port", "8125")
  .option("--stamp", "set each event's t to now (keeps old files inside the skew window)")
  .action(async (options: { file: string; host: string; port: string; stamp?: boolean }) => {
    const port = Number(options.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      process.stderr.write(`collector send: --port "${options.port}" is not a port number\n`);
      process.exit(2);
    }
    const events: PlaybackEvent[] = [];
    readFileSync(options.file, "utf8")
      .split("\n")
      .forEach((line, index) => {
        if (!line.trim()) return;
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch {
          throw new Error(`${options.file}:${index + 1}: not valid JSON`);
        }
        const result = validateEvent(options.stamp ? { ...(parsed as object), t: Date.now() } : parsed);
        if (!result.ok) throw new Error(`${options.file}:${index + 1}: ${result.reason}: ${result.detail}`);
        events.push(result.event);
      });
    const client = new UdpEventClient({ host: options.host, port });
    const datagrams = await client.send(events);
    await client.close();
    process.stdout.write(`sent ${events.length} events in ${datagrams} datagrams to ${options.host}:${port}\n`);
  });

program.parseAsync().catch((error: Error) => {
  process.stderr.write(`collector: ${error.message}\n`);
  process.exit(2);
});
