import { filesBelow, resourcesOfType, siteInput, synthBranch, type SynthResult, type JsonObject } from "../test-support/synth";
import type { StackJson } from "../lib/plan-summary/synth-output";

/** The cluster a stack's kubernetes and helm resources live in (its provider's API host). */
function clusterOf(stack: StackJson): string {
  return String((stack.provider as Record<string, Array<{ host?: string }>> | undefined)?.kubernetes?.[0]?.host ?? "");
}

/**
 * The identity each resource claims outside Terraform: a vSphere name or path, a Kubernetes
 * object or Helm release name (qualified by cluster, and by namespace when namespaced), a tag
 * name within its category.
 */
function namesIn(stack: StackJson): string[] {
  const categoryName = (reference: string) => {
    const id = /^\$\{vsphere_tag_category\.([^.]+)\.id\}$/.exec(reference)?.[1];
    return id ? String(stack.resource?.vsphere_tag_category?.[id]?.name) : reference;
  };
  const namespaceName = (reference: string) => {
    const id = /^\$\{kubernetes_namespace_v1\.([^.]+)\.metadata(?:\[0\])?\.name\}$/.exec(reference)?.[1];
    return id ? String((stack.resource?.kubernetes_namespace_v1?.[id]?.metadata as { name?: string })?.name) : reference;
  };
  const names: string[] = [];
  for (const [type, byName] of Object.entries(stack.resource ?? {})) {
    for (const body of Object.values(byName)) {
      const metadata = body.metadata as { name?: string; namespace?: string } | undefined;
      if (metadata?.name)
        names.push(`${clusterOf(stack)}/${metadata.namespace ? `${namespaceName(metadata.namespace)}/` : ""}${metadata.name}`);
      if (type === "helm_release") names.push(`${clusterOf(stack)}/${String(body.namespace)}/${String(body.name)}`);
      else if (type === "vsphere_tag") names.push(`${categoryName(String(body.category_id))}/${String(body.name)}`);
      else if (typeof body.name === "string") names.push(body.name);
      if (typeof body.path === "string") names.push(body.path);
    }
  }
  return names;
}

function backendLocations(result: SynthResult): string[] {
  return [...result.stacks.values()].map((stack) => JSON.stringify((stack.terraform as { backend: unknown }).backend));
}

function namespaces(result: SynthResult): string[] {
  return [...result.stacks.values()].flatMap((stack) =>
    resourcesOfType(stack, "kubernetes_namespace_v1").map(([, body]) => `${clusterOf(stack)}/${(body.metadata as { name: string }).name}`),
  );
}

function expectDisjoint(a: string[], b: string[]): void {
  expect(a.length).toBeGreaterThan(0);
  expect(b.length).toBeGreaterThan(0);
  expect(a.filter((item) => b.includes(item))).toEqual([]);
}

describe.each([
  ["feature/JIRA-123_Add Thing", "feature/JIRA-124_Add Thing"],
  ["main", "staging"],
])("environments %j and %j", (first, second) => {
  const a = synthBranch(first);
  const b = synthBranch(second);

  it("have disjoint stack ids", () => expectDisjoint([...a.stacks.keys()], [...b.stacks.keys()]));
  it("have disjoint resource names", () =>
    expectDisjoint([...a.stacks.values()].flatMap(namesIn), [...b.stacks.values()].flatMap(namesIn)));
  it("have disjoint namespaces", () => expectDisjoint(namespaces(a), namespaces(b)));
  it("have disjoint backend keys", () => expectDisjoint(backendLocations(a), backendLocations(b)));
  it("synthesize the same ids again (destroy needs the same synth)", () => {
    const again = synthBranch(first);
    expect([...again.stacks.keys()]).toEqual([...a.stacks.keys()]);
    expect(backendLocations(again)).toEqual(backendLocations(a));
  });
});

describe("stacks per tier", () => {
  it("gives production and staging their own cluster, VMs and analytics", () => {
    expect([...synthBranch("main").stacks.keys()]).toEqual(["analytics-main", "cluster-main", "platform-main", "vpn-main"]);
    expect([...synthBranch("staging").stacks.keys()]).toEqual(["analytics-staging", "cluster-staging", "platform-staging", "vpn-staging"]);
  });

  it("gives a preview only an analytics stack, without VMs or cluster, pointed at the staging cluster", () => {
    const preview = synthBranch("feature/x");
    expect([...preview.stacks.keys()]).toEqual([`analytics-${preview.environment.slug}`]);
    const analytics = preview.stacks.get(`analytics-${preview.environment.slug}`)!;
    const text = JSON.stringify(analytics);
    expect(text).not.toMatch(/vsphere_virtual_machine|tls_private_key|tls_self_signed_cert|metallb|clickhouse-operator/);
    const remote = (analytics.data as Record<string, Record<string, { config: { path: string } }>>).terraform_remote_state;
    expect(Object.values(remote).map((state) => state.config.path)).toEqual(["../../../terraform-state/cluster-staging.tfstate"]);
    const kubernetes = (analytics.provider as Record<string, Array<Record<string, string>>>).kubernetes[0];
    expect(kubernetes).toEqual({
      host: "${data.terraform_remote_state.staging_cluster.outputs.cluster_host}",
      cluster_ca_certificate: "${data.terraform_remote_state.staging_cluster.outputs.cluster_ca_certificate}",
      client_certificate: "${data.terraform_remote_state.staging_cluster.outputs.cluster_client_certificate}",
      client_key: "${data.terraform_remote_state.staging_cluster.outputs.cluster_client_key}",
    });
    // The names the preview reads must be outputs the staging cluster stack really has.
    const stagingOutputs = Object.keys(synthBranch("staging").stacks.get("cluster-staging")!.output ?? {});
    expect(stagingOutputs).toEqual(
      expect.arrayContaining(["cluster_host", "cluster_ca_certificate", "cluster_client_certificate", "cluster_client_key"]),
    );
    expect(resourcesOfType(analytics, "kubernetes_resource_quota_v1")).toHaveLength(1);
  });

  it("writes relative local state paths, so synth output is the same on every machine", () => {
    for (const location of backendLocations(synthBranch("main")))
      expect(location).toMatch(/^\{"local":\{"path":"\.\.\/\.\.\/\.\.\/terraform-state\/[a-z0-9-]+\.tfstate"\}\}$/);
  });
});

describe("secrets never appear in synthesized files", () => {
  const sentinels = {
    TF_VAR_vsphere_password: "sentinel-vsphere-password-7f3a",
    TF_VAR_vsphere_user: "sentinel-vsphere-user-1c9e",
    VSPHERE_PASSWORD: "sentinel-env-vsphere-password-55aa",
    AWS_ACCESS_KEY_ID: "SENTINELACCESSKEY0001",
    AWS_SECRET_ACCESS_KEY: "sentinel-aws-secret-key-9d1e",
    PG_CONN_STR: "postgres://state:sentinel-pg-password-3b2c@db.internal/state",
  };
  const saved: Record<string, string | undefined> = {};
  beforeAll(() => {
    for (const [name, value] of Object.entries(sentinels)) {
      saved[name] = process.env[name];
      process.env[name] = value;
    }
  });
  afterAll(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it.each([
    ["local", { type: "local", directory: "terraform-state" }],
    [
      "s3 (MinIO)",
      {
        type: "s3",
        bucket: "tf-state",
        region: "us-east-1",
        endpoint: "https://minio.streamstats.internal:9000",
        keyPrefix: "streamstats",
      },
    ],
    ["pg", { type: "pg", schemaPrefix: "streamstats" }],
  ] as const)("with the %s backend, for every tier", (_name, backend) => {
    const input = { ...siteInput(), backend };
    for (const branch of ["main", "staging", "feature/secret-scan"]) {
      const result = synthBranch(branch, input);
      const files = filesBelow(result.outdir);
      expect(files.length).toBeGreaterThan(result.stacks.size); // the manifest plus each stack's JSON
      for (const file of files) {
        for (const secret of Object.values(sentinels))
          expect({ file: file.path, leaked: file.text.includes(secret) }).toEqual({ file: file.path, leaked: false });
        // Key material is generated at apply time; a PEM in synth output would be a committed secret.
        expect({ file: file.path, pem: /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(file.text) }).toEqual({ file: file.path, pem: false });
      }
    }
  });

  it("takes vSphere credentials only from sensitive variables", () => {
    const platform = synthBranch("main").stacks.get("platform-main")!;
    expect((platform.provider as Record<string, Array<Record<string, unknown>>>).vsphere[0]).toMatchObject({
      user: "${var.vsphere_user}",
      password: "${var.vsphere_password}",
    });
    expect(platform.variable).toMatchObject({ vsphere_user: { sensitive: true }, vsphere_password: { sensitive: true } });
  });

  it("keeps pg and S3 credentials out of the backend block", () => {
    const pg = synthBranch("main", { ...siteInput(), backend: { type: "pg", schemaPrefix: "streamstats" } });
    expect((pg.stacks.get("cluster-main")!.terraform as { backend: unknown }).backend).toEqual({
      pg: { schema_name: "streamstats_cluster_main" },
    });
    // OpenTofu internal/backend/remote-state/pg/backend.go: conn_str defaults to PG_CONN_STR
    // only when it is not set; an explicit "" would be used as it is (libpq's own defaults).
    for (const [id, stack] of pg.stacks) {
      const states = Object.values(((stack.data ?? {}) as Record<string, JsonObject>).terraform_remote_state ?? {});
      if (id === "platform-main" || id === "analytics-main") expect(states.length).toBeGreaterThan(0);
      for (const state of states)
        expect({ id, backend: state.backend, config: state.config }).toEqual({
          id,
          backend: "pg",
          config: { schema_name: expect.stringMatching(/^streamstats_[a-z_]+$/) },
        });
    }
    const preview = synthBranch("feature/x", { ...siteInput(), backend: { type: "pg", schemaPrefix: "streamstats" } });
    const previewStates = Object.values(
      (preview.stacks.get(`analytics-${preview.environment.slug}`)!.data as Record<string, JsonObject>).terraform_remote_state,
    );
    expect(previewStates.map((state) => state.config)).toEqual([{ schema_name: "streamstats_cluster_staging" }]);
    const s3 = synthBranch("main", {
      ...siteInput(),
      backend: { type: "s3", bucket: "tf-state", region: "us-east-1", keyPrefix: "streamstats" },
    });
    expect((s3.stacks.get("cluster-main")!.terraform as { backend: unknown }).backend).toEqual({
      // Terraform s3 backend docs: use_lockfile enables S3-native state locking (1.10+; OpenTofu 1.10+).
      s3: { bucket: "tf-state", key: "streamstats/cluster-main.tfstate", region: "us-east-1", use_lockfile: true },
    });
  });
});

describe("cross-stack wiring on a full app synth", () => {
  const result = synthBranch("main");
  const analytics = result.stacks.get("analytics-main")!;
  const cluster = result.stacks.get("cluster-main")!;

  it("feeds the analytics providers from the cluster stack's outputs through remote state", () => {
    const providers = analytics.provider as Record<string, Array<Record<string, unknown>>>;
    const kubernetes = providers.kubernetes[0] as Record<string, string>;
    const helm = (providers.helm[0] as { kubernetes: Record<string, string> }).kubernetes;
    const remote = (analytics.data as Record<string, Record<string, { backend: string; config: { path: string } }>>).terraform_remote_state;
    expect(remote["cross-stack-reference-input-cluster-main"]).toMatchObject({
      backend: "local",
      config: { path: "../../../terraform-state/cluster-main.tfstate" },
    });
    const outputs = cluster.output as Record<string, { sensitive?: boolean; value: string }>;
    for (const field of ["cluster_ca_certificate", "client_certificate", "client_key"]) {
      for (const config of [kubernetes, helm]) {
        const match = /^\$\{data\.terraform_remote_state\.cross-stack-reference-input-cluster-main\.outputs\.([^}]+)\}$/.exec(
          config[field],
        );
        expect({ field, wired: Boolean(match) }).toEqual({ field, wired: true });
        const output = outputs[match![1]];
        expect(output.sensitive).toBe(true);
        expect(output.value).toMatch(/^\$\{tls_/);
      }
    }
    expect(helm.host).toBe(kubernetes.host);
  });

  it("gives the analytics providers the API endpoint only once the platform's readiness gate has read /readyz", () => {
    const platform = result.stacks.get("platform-main")!;
    const providers = analytics.provider as Record<string, Array<Record<string, string>>>;
    const output =
      /^\$\{trimsuffix\(data\.terraform_remote_state\.cross-stack-reference-input-platform-main\.outputs\.([^)]+), "\/readyz"\)\}$/.exec(
        providers.kubernetes[0].host,
      );
    expect(output).not.toBeNull();
    const [gateId, gate] = Object.entries((platform.data as Record<string, Record<string, JsonObject>>).http)[0];
    expect((platform.output as Record<string, { value: string }>)[output![1].replace(/"$/, "")].value).toBe(`\${data.http.${gateId}.url}`);
    // k3s pkg/daemons/control/server.go runs kube-apiserver with anonymous-auth=false, so the
    // gate must present a client certificate; the cluster CA verifies the server.
    expect(gate).toMatchObject({
      url: "https://10.20.0.10:6443/readyz",
      ca_cert_pem: expect.stringMatching(/cross-stack-reference-input-cluster-main\.outputs\..*server-ca_cert.*cert_pem\}$/),
      client_cert_pem: expect.stringMatching(/k3s_admin_cert.*cert_pem\}$/),
      client_key_pem: expect.stringMatching(/k3s_admin_key.*private_key_pem\}$/),
    });
    // hashicorp/http 3.5 docs (data-sources/http): retry { attempts, min_delay_ms, max_delay_ms }.
    expect(gate.retry.attempts * gate.retry.max_delay_ms).toBeGreaterThanOrEqual(10 * 60 * 1000);
    const vms = resourcesOfType(platform, "vsphere_virtual_machine").map(([id]) => `vsphere_virtual_machine.${id}`);
    expect([...gate.depends_on].sort()).toEqual(vms.sort());
    expect(gate.lifecycle.postcondition[0].condition).toBe('${self.status_code == 200 && trimspace(self.response_body) == "ok"}');
  });

  it("deploys analytics after the cluster and the VMs", () => {
    const manifest = JSON.parse(filesBelow(result.outdir).find((file) => file.path.endsWith("manifest.json"))!.text) as {
      stacks: Record<string, { dependencies: string[] }>;
    };
    expect(manifest.stacks["analytics-main"].dependencies.sort()).toEqual(["cluster-main", "platform-main"]);
    expect(manifest.stacks["platform-main"].dependencies).toEqual(["cluster-main"]);
    expect(manifest.stacks["vpn-main"].dependencies).toEqual([]);
  });
});
