import { SecretV1 } from "@cdktf/provider-kubernetes/lib/secret-v1";
import { TerraformVariable } from "cdktf";
import { Construct } from "constructs";

/** The Secret k3s reads its etcd S3 settings from (`etcd-s3-config-secret`). */
export const ETCD_S3_CONFIG_SECRET = "k3s-etcd-snapshot-s3-config";

export interface BackupStore {
  /** S3-compatible endpoint URL, e.g. https://minio.example.internal:9000 */
  readonly endpoint: string;
  readonly bucket: string;
  readonly region: string;
}

export interface PlatformBackupsProps {
  readonly store: BackupStore;
  /** Folder for this cluster's objects, e.g. the environment slug. */
  readonly folder: string;
}

/**
 * The S3 credentials (sensitive variables TF_VAR_backup_s3_access_key and
 * TF_VAR_backup_s3_secret_key) and the Secret from which k3s uploads its scheduled etcd
 * snapshots, in the shape k3s documents (docs/cli/etcd-snapshot.md, "S3 Configuration Secret").
 */
export class PlatformBackups extends Construct {
  readonly accessKey: string;
  readonly secretKey: string;
  readonly etcdSecret: SecretV1;

  constructor(scope: Construct, id: string, props: PlatformBackupsProps) {
    super(scope, id);
    const url = new URL(props.store.endpoint);
    if (!/^[a-z0-9][a-z0-9/_-]*$/.test(props.folder))
      throw new Error(`PlatformBackups ${id}: folder "${props.folder}" is not a plain path`);
    const variable = (name: string, description: string) => {
      const value = new TerraformVariable(this, name, { type: "string", sensitive: true, description });
      value.overrideLogicalId(name);
      return value.stringValue;
    };
    this.accessKey = variable(
      "backup_s3_access_key",
      "S3 access key for etcd snapshots and ClickHouse backups (TF_VAR_backup_s3_access_key)",
    );
    this.secretKey = variable(
      "backup_s3_secret_key",
      "S3 secret key for etcd snapshots and ClickHouse backups (TF_VAR_backup_s3_secret_key)",
    );
    this.etcdSecret = new SecretV1(this, "etcd-s3", {
      metadata: { name: ETCD_S3_CONFIG_SECRET, namespace: "kube-system", labels: { "app.kubernetes.io/part-of": "streamstats" } },
      type: "etcd.k3s.cattle.io/s3-config-secret",
      data: {
        // k3s takes a host[:port], not a URL, and a separate switch for plain HTTP.
        "etcd-s3-endpoint": url.host,
        "etcd-s3-insecure": String(url.protocol === "http:"),
        "etcd-s3-bucket": props.store.bucket,
        "etcd-s3-folder": `${props.folder}/etcd`,
        "etcd-s3-region": props.store.region,
        "etcd-s3-access-key": this.accessKey,
        "etcd-s3-secret-key": this.secretKey,
      },
    });
  }
}
