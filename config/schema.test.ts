import { siteInput } from "../test-support/synth";
import { SiteConfigError, validateSiteConfig, type SiteConfigInput } from "./schema";

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };

function problemsOf(change: (site: Mutable<SiteConfigInput>) => void): string[] {
  const input = siteInput() as Mutable<SiteConfigInput>;
  change(input);
  try {
    validateSiteConfig(input);
  } catch (error) {
    if (error instanceof SiteConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

describe("site config validation", () => {
  it("accepts the repository's site config", () => {
    expect(problemsOf(() => undefined)).toEqual([]);
  });

  it.each<[string, (site: Mutable<SiteConfigInput>) => void, RegExp]>([
    [
      "a CIDR that is not a CIDR",
      (s) => (s.tiers.production.network.cidr = "10.20.0.0/33"),
      /^tiers\.production\.network\.cidr: is not an IPv4 CIDR .*\(got "10\.20\.0\.0\/33"\)$/,
    ],
    [
      "a CIDR with host bits",
      (s) => (s.tiers.staging.vpn.pool = "10.29.1.7/24"),
      /^tiers\.staging\.vpn\.pool: is not an IPv4 CIDR .*\(got "10\.29\.1\.7\/24"\)$/,
    ],
    [
      "an address that is not an address",
      (s) => (s.dns.servers = ["10.20.0.300"]),
      /^dns\.servers\.0: is not an IPv4 address \(got "10\.20\.0\.300"\)$/,
    ],
    [
      "an IP plan too small for the node count",
      (s) => (s.tiers.production.network.nodes = { first: "10.20.0.10", last: "10.20.0.14" }),
      /^tiers\.production\.network\.nodes: "10\.20\.0\.10-10\.20\.0\.14" has 5 addresses, but 3 servers \+ 3 workers \+ 1 VPN gateway need 7$/,
    ],
    [
      "overlapping ranges",
      (s) => (s.tiers.staging.network.loadBalancers = { first: "10.21.0.20", last: "10.21.0.40" }),
      /^tiers\.staging\.network\.loadBalancers: "10\.21\.0\.20-10\.21\.0\.40" overlaps network\.nodes "10\.21\.0\.10-10\.21\.0\.29"$/,
    ],
    [
      "a range outside the network",
      (s) => (s.tiers.production.network.loadBalancers = { first: "10.20.1.200", last: "10.20.1.239" }),
      /^tiers\.production\.network\.loadBalancers: "10\.20\.1\.200-10\.20\.1\.239" is not inside network\.cidr "10\.20\.0\.0\/24"$/,
    ],
    [
      "a VPN pool overlapping the platform network",
      (s) => (s.tiers.production.vpn.pool = "10.20.0.0/25"),
      /^tiers\.production\.vpn\.pool: "10\.20\.0\.0\/25" overlaps network\.cidr "10\.20\.0\.0\/24"$/,
    ],
    [
      "tiers sharing a network",
      (s) => (s.tiers.staging.network.cidr = "10.20.0.0/16"),
      /^tiers\.staging\.network\.cidr: "10\.20\.0\.0\/16" overlaps tiers\.production\.network\.cidr "10\.20\.0\.0\/24"$/,
    ],
    [
      "an even number of embedded-etcd servers",
      (s) => (s.tiers.production.controlPlane.count = 2),
      /^tiers\.production\.controlPlane\.count: 2 is even — embedded etcd with 2 servers tolerates no more failures than 1; use an odd count$/,
    ],
    [
      "a disk smaller than the template",
      (s) => (s.tiers.staging.workers.vm.diskGiB = 10),
      /^tiers\.staging\.workers\.vm\.diskGiB: 10 is smaller than the template's disk \(vsphere\.template\.diskGiB 20\)$/,
    ],
    [
      "too few production replicas",
      (s) => (s.tiers.production.clickhouse.replicas = 1),
      /^tiers\.production\.clickhouse\.replicas: 1 — production needs at least 2 replicas$/,
    ],
    [
      "a VPN user in an unknown group",
      (s) => (s.vpn.users = [{ name: "carol", group: "admins" }]),
      /^vpn\.users\.0\.group|^vpn\.users\[0\]\.group: "admins" is not one of vpn\.groups/,
    ],
    [
      "an absolute local state directory",
      (s) => (s.backend = { type: "local", directory: "/var/state" }),
      /^backend\.directory: must be a relative path inside the repository \(got "\/var\/state"\)$/,
    ],
    [
      "an unknown backend",
      (s) => ((s as { backend: unknown }).backend = { type: "consul" }),
      /^backend\.type: needs type "local", "s3" or "pg" \(got \{"type":"consul"\}\)$/,
    ],
    [
      "a proxy URL that would break out of the installer's quotes",
      (s) => (s.siteNetwork = { proxy: { http: "http://proxy:3128/'$(id)", https: "http://proxy:3128", noProxy: [] } }),
      /^siteNetwork\.proxy\.http: must not contain quotes, spaces, \$ or backslashes \(got "http:\/\/proxy:3128\/'\$\(id\)"\)$/,
    ],
    [
      "a registry mirror that is not a URL",
      (s) => (s.siteNetwork = { registryMirrors: { "docker.io": ["registry.internal"] } }),
      /^siteNetwork\.registryMirrors\.docker\.io\.0: .*\(got "registry\.internal"\)$/,
    ],
    ["a typo'd field", (s) => ((s.vsphere as Record<string, unknown>).datacentre = "dc"), /^vsphere: Unrecognized key: "datacentre"/],
    [
      "a string where a number belongs",
      (s) => ((s.tiers.production.workers as { count: unknown }).count = "3"),
      /^tiers\.production\.workers\.count: .*expected number.*\(got "3"\)$/,
    ],
  ])("rejects %s with its own message naming field and value", (_kind, change, message) => {
    const problems = problemsOf(change);
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(message)]));
  });

  it("accepts a site behind a proxy with k3s and registry mirrors, and keeps direct access the default", () => {
    expect(validateSiteConfig(siteInput()).siteNetwork).toBeUndefined();
    const problems = problemsOf((s) => {
      s.siteNetwork = {
        proxy: { http: "http://proxy.internal:3128", https: "http://proxy.internal:3128", noProxy: [".streamstats.internal"] },
        k3sArtifacts: { installScriptUrl: "https://mirror.internal/k3s/install.sh", releasesUrl: "https://mirror.internal/k3s/releases" },
        registryMirrors: { "docker.io": ["https://registry.internal"], "registry.k8s.io": ["https://registry.internal"] },
      };
    });
    expect(problems).toEqual([]);
  });

  it("reports every problem at once, not just the first", () => {
    const problems = problemsOf((s) => {
      s.tiers.production.controlPlane.count = 4;
      s.tiers.staging.workers.vm.diskGiB = 10;
    });
    expect(problems).toHaveLength(2);
  });

  it("throws one error whose message lists the problems", () => {
    const input = siteInput() as Mutable<SiteConfigInput>;
    input.tiers.production.network.gateway = "10.20.0.10";
    expect(() => validateSiteConfig(input)).toThrow(
      /site config is invalid:\n {2}- tiers\.production\.network\.gateway: "10\.20\.0\.10" lies inside network\.nodes/,
    );
  });
});
