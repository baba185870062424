import { Command } from "commander";
import { join } from "node:path";
import { validateSiteConfig } from "../../config/schema";
import { site as repositorySite } from "../../config/site";
import { Environment } from "../environment";
import {
  branchesFrom,
  commandsFor,
  decideReap,
  destroyRecorded,
  guardTier,
  parseDuration,
  recordFor,
  runCommands,
  type Verb,
} from "./operations";
import { registryFor, type EnvironmentRegistry } from "./registry";

const root = join(__dirname, "..", "..");
const print = (line: string) => process.stdout.write(`${line}\n`);

/** The site's backend, or `--backend local:<dir>` / `pg:<schema prefix>` (for another checkout or a test). */
function registry(): EnvironmentRegistry {
  const spec = program.opts<{ backend?: string }>().backend;
  if (!spec) return registryFor(validateSiteConfig(repositorySite).backend, root);
  const [type, value] = spec.split(/:(.*)/s);
  if (type === "local" && value) return registryFor({ type: "local", directory: value }, "/");
  if (type === "pg" && value) return registryFor({ type: "pg", schemaPrefix: value }, root);
  if (type === "s3" && value)
    return registryFor(
      { type: "s3", ...(JSON.parse(value) as { bucket: string; region: string; keyPrefix: string; endpoint?: string }) },
      root,
    );
  throw new Error(
    `environments: --backend "${spec}" must be local:<directory>, pg:<schema prefix> or s3:{"bucket","region","keyPrefix","endpoint"}`,
  );
}

function age(iso: string | undefined, now: Date): string {
  if (!iso) return "?";
  const hours = Math.floor((now.getTime() - Date.parse(iso)) / 3_600_000);
  return hours >= 48 ? `${Math.floor(hours / 24)}d` : `${hours}h`;
}

async function withRegistry<T>(action: (registry: EnvironmentRegistry) => Promise<T>): Promise<T> {
  const opened = registry();
  try {
    return await action(opened);
  } finally {
    await opened.close();
  }
}

function verbCommand(verb: Verb, description: string) {
  return new Command(verb)
    .description(description)
    .argument("<branch>", "the git branch whose environment this is (it need not exist any more)")
    .option("--tier <tier>", "required to name production or staging explicitly")
    .option("--print", "print the commands instead of running them")
    .action(async (branch: string, options: { tier?: string; print?: boolean }) => {
      const environment = new Environment(branch, "command line");
      guardTier(environment, options.tier);
      const commands = commandsFor(verb, environment);
      for (const command of commands) {
        print(
          `${options.print ? "would run" : "running"}: ${Object.entries(command.env)
            .map(([key, value]) => `${key}=${value}`)
            .join(" ")} ${command.argv.join(" ")}`,
        );
      }
      if (options.print) return;
      runCommands(commands, root);
      if (verb === "deploy") await withRegistry((opened) => opened.write(recordFor(environment, root, new Date())));
      if (verb === "destroy") await withRegistry((opened) => opened.remove(environment.slug));
    });
}

const program: Command = new Command()
  .name("env")
  .description("Environments per branch: list them, plan, deploy and destroy one, reap the stale ones")
  .option(
    "--backend <spec>",
    "state backend instead of the site's: local:<directory>, pg:<schema prefix> (PG_CONN_STR) or s3:<JSON> (AWS_*)",
  )
  .addCommand(
    new Command("list")
      .description("every environment with state in the site's backend, with its branch, tier, last apply and age")
      .option("--json", "machine-readable output")
      .action(async (options: { json?: boolean }) => {
        const environments = await withRegistry((opened) => opened.list());
        if (options.json) {
          print(JSON.stringify(environments, null, 2));
          return;
        }
        const now = new Date();
        print("slug | branch | tier | last apply | age | stacks");
        for (const environment of environments) {
          const record = environment.record;
          print(
            [
              environment.slug,
              record?.branch ?? "(no record)",
              environment.tier,
              record?.appliedAt ?? "?",
              age(record?.appliedAt, now),
              environment.stacks.join(","),
            ].join(" | "),
          );
        }
      }),
  )
  .addCommand(verbCommand("plan", "synthesize the branch and diff each of its stacks"))
  .addCommand(verbCommand("deploy", "synthesize the branch, deploy exactly its stacks, record it next to its state"))
  .addCommand(verbCommand("destroy", "synthesize the branch again and destroy exactly its stacks"))
  .addCommand(
    new Command("reap")
      .description("destroy previews whose branch is gone or that are older than --max-age; never production or staging")
      .requiredOption(
        "--branches-from <source>",
        "a git remote, URL or repository path (git ls-remote), or file:<path> with one branch per line",
      )
      .option("--max-age <age>", "also destroy previews last applied longer ago than this (e.g. 7d)")
      .option("--dry-run", "say what would be destroyed, destroy nothing")
      .action(async (options: { branchesFrom: string; maxAge?: string; dryRun?: boolean }) => {
        const maxAge = options.maxAge ? parseDuration(options.maxAge) : undefined;
        const branches = branchesFrom(options.branchesFrom, root);
        await withRegistry(async (opened) => {
          const decisions = decideReap(await opened.list(), branches, maxAge, new Date());
          for (const decision of decisions)
            print(`${decision.action} ${decision.slug}${decision.branch ? ` (${decision.branch})` : ""}: ${decision.why}`);
          for (const decision of decisions.filter((candidate) => candidate.action === "destroy")) {
            const record = (await opened.list()).find((environment) => environment.slug === decision.slug)!.record!;
            await destroyRecorded(record, opened, root, print, options.dryRun ?? false);
          }
          const counts = (action: string) => decisions.filter((decision) => decision.action === action).length;
          print(
            `reap: ${counts("destroy")} ${options.dryRun ? "to destroy (dry run)" : "destroyed"}, ${counts("keep")} kept, ${counts("refuse")} refused`,
          );
        });
      }),
  );

program.parseAsync().catch((error: Error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
