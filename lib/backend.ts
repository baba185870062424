import {
  DataTerraformRemoteStateLocal,
  DataTerraformRemoteStatePg,
  DataTerraformRemoteStateS3,
  LocalBackend,
  PgBackend,
  S3Backend,
  TerraformRemoteState,
  TerraformStack,
} from "cdktf";
import type { Construct } from "constructs";
import type { BackendConfig } from "../config/schema";

/**
 * Terraform runs inside `cdktf.out/stacks/<id>`; a path relative to that directory keeps the
 * synthesized JSON identical on every machine and lands the state in `<repo>/<directory>`.
 */
function localStatePath(config: Extract<BackendConfig, { type: "local" }>, stackId: string): string {
  return `../../../${config.directory}/${stackId}.tfstate`;
}

function s3Key(config: Extract<BackendConfig, { type: "s3" }>, stackId: string): string {
  return `${config.keyPrefix.replace(/\/+$/, "")}/${stackId}.tfstate`;
}

/** pg schema names are identifiers; dashes from stack ids become underscores. */
function pgSchema(config: Extract<BackendConfig, { type: "pg" }>, stackId: string): string {
  return `${config.schemaPrefix}_${stackId.replace(/-/g, "_")}`;
}

/**
 * A pg state for another stack's outputs with conn_str absent, so that the pg backend falls
 * back to PG_CONN_STR as it does for the stack's own backend.
 */
function pgRemoteState(scope: Construct, id: string, schemaName: string, workspace?: string): DataTerraformRemoteStatePg {
  const state = new DataTerraformRemoteStatePg(scope, id, { connStr: "", schemaName, ...(workspace ? { workspace } : {}) });
  state.addOverride("config.conn_str", undefined);
  return state;
}

/**
 * cdktf builds the consumer side of a cross-stack reference from the producer backend's props
 * (cdktf lib/backends/pg-backend.js, getRemoteStateDataSource), which would carry an explicit
 * empty conn_str into every terraform_remote_state; this keeps it absent there too.
 */
class EnvConnStrPgBackend extends PgBackend {
  constructor(
    scope: Construct,
    private readonly config: { connStr: string; schemaName: string },
  ) {
    super(scope, config);
  }

  override getRemoteStateDataSource(scope: Construct, name: string): TerraformRemoteState {
    return pgRemoteState(scope, name, this.config.schemaName, "${terraform.workspace}");
  }
}

const S3_COMPATIBLE = {
  usePathStyle: true,
  skipCredentialsValidation: true,
  skipRegionValidation: true,
  skipRequestingAccountId: true,
  skipMetadataApiCheck: true,
  skipS3Checksum: true,
} as const;

/**
 * Sets the stack's state backend; the key or path always includes the stack id, which
 * includes the environment, so two branches never share state. Credentials stay in the
 * environment (AWS_* for S3/MinIO, PG_CONN_STR for pg) and never reach the synthesized JSON.
 */
export function useStateBackend(stack: TerraformStack, config: BackendConfig): void {
  const stackId = stack.node.id;
  switch (config.type) {
    case "local":
      new LocalBackend(stack, { path: localStatePath(config, stackId) });
      return;
    case "s3": {
      const backend = new S3Backend(stack, {
        bucket: config.bucket,
        key: s3Key(config, stackId),
        region: config.region,
        ...(config.endpoint ? { endpoints: { s3: config.endpoint }, ...S3_COMPATIBLE } : {}),
      });
      // State locking with a lock object next to the state (Terraform ≥ 1.10, OpenTofu ≥ 1.10),
      // which works on S3-compatible stores that have no DynamoDB. cdktf 0.21's type lacks it.
      backend.addOverride("use_lockfile", true);
      return;
    }
    case "pg": {
      // The pg backend reads PG_CONN_STR when conn_str is absent; cdktf's type requires the
      // field, so it is removed again rather than synthesized.
      const backend = new EnvConnStrPgBackend(stack, { connStr: "", schemaName: pgSchema(config, stackId) });
      backend.addOverride("conn_str", undefined);
      return;
    }
  }
}

/**
 * Reads another environment's stack outputs through its backend: previews use this to find
 * the staging cluster, which is not part of their synth.
 */
export function remoteStateOf(scope: Construct, id: string, config: BackendConfig, producerStackId: string): TerraformRemoteState {
  switch (config.type) {
    case "local":
      return new DataTerraformRemoteStateLocal(scope, id, { path: localStatePath(config, producerStackId) });
    case "s3":
      return new DataTerraformRemoteStateS3(scope, id, {
        bucket: config.bucket,
        key: s3Key(config, producerStackId),
        region: config.region,
        ...(config.endpoint ? { endpoints: { s3: config.endpoint }, ...S3_COMPATIBLE } : {}),
      });
    case "pg":
      return pgRemoteState(scope, id, pgSchema(config, producerStackId));
  }
}
