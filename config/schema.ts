import { z } from "zod";
import { KUBE_PROMETHEUS_STACK_RELEASE } from "../constructs/analytics-platform";
import type { VmSize } from "../constructs/vsphere-vm";
import {
  addressRange,
  cidrRange,
  ipv4ToInt,
  isIpv4,
  isIpv4Cidr,
  rangeContains,
  rangesOverlap,
  rangeSize,
  type Ipv4Range,
} from "../lib/ipv4";

const ipv4 = z.string().refine(isIpv4, { message: "is not an IPv4 address" });
const cidr = z.string().refine(isIpv4Cidr, { message: "is not an IPv4 CIDR (network address/prefix)" });
const addressSpan = z.object({ first: ipv4, last: ipv4 }).strict();
const label = z.string().regex(/^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/, "must be a lower-case DNS label of at most 32 characters");

/** The site's VM sizes are the constructs' VmSize (declared once, in constructs/vsphere-vm.ts). */
const vmSize = z
  .object({
    cpus: z.number().int().min(1).max(64),
    memoryMiB: z.number().int().min(1024).max(262144).multipleOf(256),
    diskGiB: z.number().int().min(8).max(4096),
  })
  .strict() satisfies z.ZodType<VmSize>;

const nodePool = z.object({ count: z.number().int().min(0).max(32), vm: vmSize }).strict();

const clickhouseSize = z
  .object({
    shards: z.number().int().min(1).max(16),
    replicas: z.number().int().min(1).max(5),
    keepers: z.number().int().min(1).max(7),
    storageGiB: z.number().int().min(1).max(16384),
  })
  .strict();

const collectorSize = z.object({ replicas: z.number().int().min(1).max(64) }).strict();

const clusterTier = z
  .object({
    network: z
      .object({
        cidr,
        gateway: ipv4,
        /** Static addresses for VMs: control plane first, then workers, then the VPN gateway. */
        nodes: addressSpan,
        /** MetalLB's pool for LoadBalancer Services. */
        loadBalancers: addressSpan,
      })
      .strict(),
    vpn: z
      .object({
        /** Addresses handed to VPN clients. */
        pool: cidr,
        /** The gateway's address on the external network, with its prefix. */
        externalAddress: z.string().refine((text) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(text) && isIpv4(text.split("/")[0]), {
          message: "is not an IPv4 address with prefix (a.b.c.d/nn)",
        }),
        externalGateway: ipv4,
      })
      .strict(),
    /** Odd count: embedded etcd with 2n servers tolerates no more failures than 2n-1. */
    controlPlane: nodePool,
    workers: nodePool,
    vpnGateway: z.object({ vm: vmSize }).strict(),
    clickhouse: clickhouseSize,
    collector: collectorSize,
    /**
     * Where ClickHouse, Keeper and the collector's spool keep their volumes: vSphere CNS volumes
     * that survive node replacement, or k3s's local-path (the node's disk: for the single-node
     * development size only, since replacing the node deletes them).
     */
    storage: z
      .discriminatedUnion("class", [
        z
          .object({
            class: z.literal("vsphere-csi"),
            /** A vSphere storage policy (SPBM) for the volumes. @default the datastore's default */
            storagePolicyName: z.string().min(1).optional(),
            /** Place volumes on this datastore (ds:///vmfs/volumes/…/). @default any the policy allows */
            datastoreUrl: z.string().startsWith("ds:///").optional(),
          })
          .strict(),
        z.object({ class: z.literal("local-path") }).strict(),
      ])
      .default({ class: "vsphere-csi" }),
  })
  .strict();

const previewTier = z
  .object({
    clickhouse: clickhouseSize,
    collector: collectorSize,
    quota: z.object({ cpu: z.string().regex(/^\d+m?$/), memory: z.string().regex(/^\d+(Mi|Gi)$/) }).strict(),
  })
  .strict();

/** An http(s) URL with nothing a shell or YAML would reinterpret (it lands in a quoted script). */
const safeUrl = z.url({ protocol: /^https?$/ }).refine((url) => !/[\s'"`$\\]/.test(url), {
  message: "must not contain quotes, spaces, $ or backslashes",
});
const noProxyEntry = z.string().regex(/^[A-Za-z0-9.*:/_-]+$/, "must be a host, domain suffix, address or CIDR");

/** For sites that reach the internet only through a proxy or mirrors. Omit for direct access. */
const siteNetwork = z
  .object({
    /** Used by apt, the k3s installer, k3s and containerd; NO_PROXY gets the cluster's networks added. */
    proxy: z
      .object({ http: safeUrl, https: safeUrl, noProxy: z.array(noProxyEntry).default([]) })
      .strict()
      .optional(),
    /** A mirror of k3s releases: install.sh for the pinned version, and the GitHub releases URL's stand-in. */
    k3sArtifacts: z.object({ installScriptUrl: safeUrl, releasesUrl: safeUrl }).strict().optional(),
    /** k3s registries.yaml mirrors: registry host (e.g. docker.io) → endpoints tried in order. */
    registryMirrors: z.record(z.string().regex(/^[a-z0-9.-]+(:\d+)?$/, "must be a registry host name"), z.array(safeUrl).min(1)).optional(),
  })
  .strict();

const backend = z.discriminatedUnion(
  "type",
  [
    z
      .object({
        type: z.literal("local"),
        /** Relative to the repository root, so synthesized output is identical across machines. */
        directory: z
          .string()
          .refine((dir) => !dir.startsWith("/") && !dir.includes(".."), { message: "must be a relative path inside the repository" }),
      })
      .strict(),
    z
      .object({
        type: z.literal("s3"),
        bucket: z.string().min(3),
        region: z.string().min(1),
        /** For S3-compatible stores such as MinIO; credentials come from AWS_* environment variables. */
        endpoint: z.url().optional(),
        keyPrefix: z.string().regex(/^[a-z0-9][a-z0-9/_-]*$/),
      })
      .strict(),
    z
      .object({
        type: z.literal("pg"),
        /** The connection string comes from PG_CONN_STR in the environment, never from this file. */
        schemaPrefix: z.string().regex(/^[a-z][a-z0-9_]*$/),
      })
      .strict(),
  ],
  { error: 'needs type "local", "s3" or "pg"' },
);

const cronSchedule = (fallback: string) =>
  z
    .string()
    .regex(/^(\S+\s+){4}\S+$/, "must be a five-field cron schedule")
    .default(fallback);

/** Where and how often the platform is backed up; credentials come from sensitive variables. */
const backups = z
  .object({
    /** An S3-compatible store (e.g. MinIO) for etcd snapshots and ClickHouse backups. */
    s3: z
      .object({
        endpoint: safeUrl,
        bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name"),
        region: z.string().min(1).default("us-east-1"),
      })
      .strict(),
    etcd: z
      .object({
        /** k3s `etcd-snapshot-schedule-cron`. @default every 6 hours */
        scheduleCron: cronSchedule("0 */6 * * *"),
        /** k3s `etcd-snapshot-retention`: snapshots kept, locally and in S3. @default 28 (a week) */
        retention: z.number().int().min(1).max(1000).default(28),
      })
      .strict()
      .default({ scheduleCron: "0 */6 * * *", retention: 28 }),
    clickhouse: z
      .object({
        /** When the nightly BACKUP runs (the CronJob's schedule). @default 02:30 */
        scheduleCron: cronSchedule("30 2 * * *"),
        /** Backups older than this many days are deleted. @default 14 */
        retentionDays: z.number().int().min(1).max(3650).default(14),
      })
      .strict()
      .default({ scheduleCron: "30 2 * * *", retentionDays: 14 }),
  })
  .strict();

/**
 * Prometheus Operator objects (ServiceMonitors, PrometheusRules), Grafana dashboards and data
 * sources for every environment; optionally the Prometheus stack itself.
 */
const monitoring = z
  .object({
    /**
     * The `release` label the site's Prometheus selects monitors and rules by (kube-prometheus-stack
     * selects its own release name by default: prometheus-community/helm-charts#430).
     * @default kube-prometheus-stack
     */
    prometheusRelease: label.default(KUBE_PROMETHEUS_STACK_RELEASE),
    /** The namespace Prometheus and Grafana run in (allowed to scrape the collectors). @default monitoring */
    namespace: label.default("monitoring"),
    /** Install a pinned kube-prometheus-stack in each cluster, for sites that have none. @default false */
    installStack: z.boolean().default(false),
    /** Where this repository's docs/runbooks is served; every alert links a page in it. */
    runbookBaseUrl: safeUrl,
  })
  .strict()
  .refine((m) => !m.installStack || m.prometheusRelease === KUBE_PROMETHEUS_STACK_RELEASE, {
    message: `must be ${KUBE_PROMETHEUS_STACK_RELEASE} when installStack is on (the release this project installs)`,
    path: ["prometheusRelease"],
  });

export const siteConfigSchema = z
  .object({
    project: label,
    owner: label,
    vsphere: z
      .object({
        server: z.string().min(1),
        allowUnverifiedSsl: z.boolean(),
        datacenter: z.string().min(1),
        computeCluster: z.string().min(1),
        datastore: z.string().min(1),
        /** Parent folder; each environment gets a folder below it. */
        folder: z.string().min(1),
        /** The template's own first-disk size; clones may not be smaller. */
        template: z.object({ name: z.string().min(1), diskGiB: z.number().int().min(1) }).strict(),
        networks: z.object({ platform: z.string().min(1), external: z.string().min(1) }).strict(),
      })
      .strict(),
    dns: z.object({ servers: z.array(ipv4).min(1), searchDomains: z.array(z.string().min(1)) }).strict(),
    ntp: z.array(z.string().min(1)).min(1),
    siteNetwork: siteNetwork.optional(),
    sshPublicKeys: z
      .array(z.string().regex(/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+( .*)?$/, "is not an OpenSSH public key"))
      .min(1),
    /** Networks (besides the VPN pool) allowed to reach the API and dashboard. */
    opsNetworks: z.array(cidr),
    vpn: z
      .object({
        /** "operator": the gateway's TLS certificate comes from sensitive variables instead of the tls provider. */
        serverCertificate: z.enum(["generated", "operator"]),
        groups: z.array(label).min(1),
        users: z.array(z.object({ name: label, group: label }).strict()),
      })
      .strict(),
    tiers: z.object({ production: clusterTier, staging: clusterTier, preview: previewTier }).strict(),
    backend,
    /** Backups of etcd and ClickHouse to S3. @default none (k3s still keeps local etcd snapshots) */
    backups: backups.optional(),
    /** Scrape wiring, alert rules and dashboards. @default none (no Prometheus Operator objects) */
    monitoring: monitoring.optional(),
    /**
     * How many times each node was deliberately replaced (`npm run node:replace`); a VM is
     * replaced when its generation changes, never by a change of its user-data. Kept in
     * config/node-generations.json.
     */
    nodeGenerations: z.record(z.string(), z.number().int().min(0).max(1_000_000)).default({}),
  })
  .strict();

export type SiteConfigInput = z.input<typeof siteConfigSchema>;
export type SiteConfig = z.output<typeof siteConfigSchema>;
export type ClusterTierConfig = SiteConfig["tiers"]["production"];
export type PreviewTierConfig = SiteConfig["tiers"]["preview"];
export type { VmSize };
export type BackendConfig = SiteConfig["backend"];

export class SiteConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`site config is invalid:\n  - ${problems.join("\n  - ")}`);
    this.name = "SiteConfigError";
  }
}

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** The VMs a cluster tier needs addresses for: servers, workers and the VPN gateway's platform NIC. */
export function addressesNeeded(tier: ClusterTierConfig): number {
  return tier.controlPlane.count + tier.workers.count + 1;
}

/** Checks that span fields: ranges inside the network, no overlaps, enough addresses, odd etcd. */
function crossFieldProblems(site: SiteConfig): string[] {
  const problems: string[] = [];
  const templateDisk = site.vsphere.template.diskGiB;
  for (const tierName of ["production", "staging"] as const) {
    const tier = site.tiers[tierName];
    const at = `tiers.${tierName}`;
    const network = cidrRange(tier.network.cidr);
    const spans: Array<[string, { first: string; last: string }]> = [
      ["network.nodes", tier.network.nodes],
      ["network.loadBalancers", tier.network.loadBalancers],
    ];
    const ranges: Array<[string, Ipv4Range]> = [];
    for (const [field, span] of spans) {
      const range = addressRange(span.first, span.last);
      if (range.first > range.last) {
        problems.push(`${at}.${field}: first ${show(span.first)} comes after last ${show(span.last)}`);
        continue;
      }
      if (!rangeContains(network, range)) {
        problems.push(`${at}.${field}: ${show(`${span.first}-${span.last}`)} is not inside network.cidr ${show(tier.network.cidr)}`);
      }
      ranges.push([field, range]);
    }
    if (ranges.length === 2 && rangesOverlap(ranges[0][1], ranges[1][1])) {
      problems.push(
        `${at}.network.loadBalancers: ${show(`${tier.network.loadBalancers.first}-${tier.network.loadBalancers.last}`)} overlaps network.nodes ${show(`${tier.network.nodes.first}-${tier.network.nodes.last}`)}`,
      );
    }
    const gateway = ipv4ToInt(tier.network.gateway);
    if (gateway < network.first || gateway > network.last) {
      problems.push(`${at}.network.gateway: ${show(tier.network.gateway)} is not inside network.cidr ${show(tier.network.cidr)}`);
    }
    for (const [field, range] of ranges) {
      if (gateway >= range.first && gateway <= range.last) {
        problems.push(`${at}.network.gateway: ${show(tier.network.gateway)} lies inside ${field}`);
      }
    }
    const nodes = ranges.find(([field]) => field === "network.nodes");
    if (nodes && rangeSize(nodes[1]) < addressesNeeded(tier)) {
      problems.push(
        `${at}.network.nodes: ${show(`${tier.network.nodes.first}-${tier.network.nodes.last}`)} has ${rangeSize(nodes[1])} addresses, but ${tier.controlPlane.count} servers + ${tier.workers.count} workers + 1 VPN gateway need ${addressesNeeded(tier)}`,
      );
    }
    const pool = cidrRange(tier.vpn.pool);
    if (rangesOverlap(pool, network)) {
      problems.push(`${at}.vpn.pool: ${show(tier.vpn.pool)} overlaps network.cidr ${show(tier.network.cidr)}`);
    }
    site.opsNetworks.forEach((ops, index) => {
      if (rangesOverlap(pool, cidrRange(ops)))
        problems.push(`${at}.vpn.pool: ${show(tier.vpn.pool)} overlaps opsNetworks[${index}] ${show(ops)}`);
    });
    if (tier.controlPlane.count < 1)
      problems.push(`${at}.controlPlane.count: ${tier.controlPlane.count} — a cluster needs at least one server`);
    if (tier.controlPlane.count % 2 === 0) {
      problems.push(
        `${at}.controlPlane.count: ${tier.controlPlane.count} is even — embedded etcd with ${tier.controlPlane.count} servers tolerates no more failures than ${tier.controlPlane.count - 1}; use an odd count`,
      );
    }
    for (const [field, size] of [
      ["controlPlane.vm", tier.controlPlane.vm],
      ["workers.vm", tier.workers.vm],
      ["vpnGateway.vm", tier.vpnGateway.vm],
    ] as const) {
      if (size.diskGiB < templateDisk) {
        problems.push(
          `${at}.${field}.diskGiB: ${size.diskGiB} is smaller than the template's disk (vsphere.template.diskGiB ${templateDisk})`,
        );
      }
    }
    if (tier.storage.class === "local-path" && tier.controlPlane.count + tier.workers.count > 1) {
      problems.push(
        `${at}.storage.class: "local-path" keeps volumes on one node's disk, so replacing that node deletes them; use "vsphere-csi" for a cluster of ${tier.controlPlane.count + tier.workers.count} nodes`,
      );
    }
    if (tier.clickhouse.keepers % 2 === 0) {
      problems.push(`${at}.clickhouse.keepers: ${tier.clickhouse.keepers} is even — a Keeper quorum needs an odd count`);
    }
  }
  const production = site.tiers.production.clickhouse;
  if (production.replicas < 2)
    problems.push(`tiers.production.clickhouse.replicas: ${production.replicas} — production needs at least 2 replicas`);
  if (production.keepers < 3)
    problems.push(`tiers.production.clickhouse.keepers: ${production.keepers} — production needs at least 3 keepers`);
  if (rangesOverlap(cidrRange(site.tiers.production.network.cidr), cidrRange(site.tiers.staging.network.cidr))) {
    problems.push(
      `tiers.staging.network.cidr: ${show(site.tiers.staging.network.cidr)} overlaps tiers.production.network.cidr ${show(site.tiers.production.network.cidr)}`,
    );
  }
  for (const [node, generation] of Object.entries(site.nodeGenerations)) {
    const match = /^(main|staging)-(?:(server|agent)-(\d+)|vpn)$/.exec(node);
    const tier = match ? site.tiers[match[1] === "main" ? "production" : "staging"] : undefined;
    const count = match && tier ? (match[2] === undefined ? 1 : match[2] === "server" ? tier.controlPlane.count : tier.workers.count) : 0;
    if (!match || Number(match[3] ?? 1) < 1 || Number(match[3] ?? 1) > count) {
      problems.push(`nodeGenerations.${node}: ${show(generation)} names no node of production (main-…) or staging (staging-…)`);
    }
  }
  const seen = new Set<string>();
  site.vpn.users.forEach((user, index) => {
    if (seen.has(user.name)) problems.push(`vpn.users[${index}].name: ${show(user.name)} is listed twice`);
    seen.add(user.name);
    if (!site.vpn.groups.includes(user.group))
      problems.push(`vpn.users[${index}].group: ${show(user.group)} is not one of vpn.groups ${show(site.vpn.groups)}`);
  });
  return problems;
}

/** Validates raw site settings; every problem names its field and the offending value. */
export function validateSiteConfig(raw: unknown): SiteConfig {
  const parsed = siteConfigSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    throw new SiteConfigError(
      parsed.error.issues.map((issue) => {
        const field = issue.path.map(String).join(".") || "(root)";
        const got = "input" in issue && issue.input !== undefined ? ` (got ${show(issue.input)})` : "";
        return `${field}: ${issue.message}${got}`;
      }),
    );
  }
  const problems = crossFieldProblems(parsed.data);
  if (problems.length > 0) throw new SiteConfigError(problems);
  return parsed.data;
}
