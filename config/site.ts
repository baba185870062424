/**
 * Everything site-specific, in one place. Validated by ./schema.ts when the app synthesizes:
 * a bad value fails synth with the field and the value. No secrets here: the vSphere
 * credentials are sensitive Terraform variables, and backend credentials come from the
 * environment (AWS_* for S3/MinIO, PG_CONN_STR for pg).
 */
import type { SiteConfigInput } from "./schema";

export const site: SiteConfigInput = {
  project: "streamstats",
  owner: "platform-team",
  vsphere: {
    server: "vcenter.streamstats.internal",
    allowUnverifiedSsl: false,
    datacenter: "dc-01",
    computeCluster: "compute-01",
    datastore: "vsan-01",
    folder: "streamstats",
    template: { name: "debian-12-genericcloud-cloudinit", diskGiB: 20 },
    networks: { platform: "pg-platform", external: "pg-dmz" },
  },
  dns: { servers: ["10.20.0.2", "10.20.0.3"], searchDomains: ["streamstats.internal"] },
  ntp: ["ntp1.streamstats.internal", "ntp2.streamstats.internal"],
  sshPublicKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk3bS8ZC9d0ZuKVfc2Ea7c5wT1m9yv1Fh0B2i0yF3ps ops@streamstats"],
  opsNetworks: ["10.99.0.0/24"],
  vpn: {
    serverCertificate: "generated",
    groups: ["ops", "analysts"],
    users: [
      { name: "alice", group: "ops" },
      { name: "bob", group: "analysts" },
    ],
  },
  tiers: {
    production: {
      network: {
        cidr: "10.20.0.0/24",
        gateway: "10.20.0.1",
        nodes: { first: "10.20.0.10", last: "10.20.0.49" },
        loadBalancers: { first: "10.20.0.200", last: "10.20.0.239" },
      },
      vpn: { pool: "10.29.0.0/24", externalAddress: "198.51.100.10/28", externalGateway: "198.51.100.1" },
      controlPlane: { count: 3, vm: { cpus: 4, memoryMiB: 8192, diskGiB: 60 } },
      workers: { count: 3, vm: { cpus: 8, memoryMiB: 32768, diskGiB: 200 } },
      vpnGateway: { vm: { cpus: 2, memoryMiB: 2048, diskGiB: 20 } },
      clickhouse: { shards: 2, replicas: 2, keepers: 3, storageGiB: 200 },
      collector: { replicas: 3 },
    },
    staging: {
      network: {
        cidr: "10.21.0.0/24",
        gateway: "10.21.0.1",
        nodes: { first: "10.21.0.10", last: "10.21.0.29" },
        loadBalancers: { first: "10.21.0.200", last: "10.21.0.239" },
      },
      vpn: { pool: "10.29.1.0/24", externalAddress: "198.51.100.11/28", externalGateway: "198.51.100.1" },
      controlPlane: { count: 1, vm: { cpus: 4, memoryMiB: 8192, diskGiB: 40 } },
      workers: { count: 2, vm: { cpus: 4, memoryMiB: 16384, diskGiB: 100 } },
      vpnGateway: { vm: { cpus: 1, memoryMiB: 1024, diskGiB: 20 } },
      clickhouse: { shards: 1, replicas: 2, keepers: 1, storageGiB: 50 },
      collector: { replicas: 2 },
    },
    preview: {
      clickhouse: { shards: 1, replicas: 1, keepers: 1, storageGiB: 10 },
      collector: { replicas: 1 },
      quota: { cpu: "4", memory: "8Gi" },
    },
  },
  backend: { type: "local", directory: "terraform-state" },
  // etcd snapshots and ClickHouse backups; keys from TF_VAR_backup_s3_access_key/_secret_key.
  backups: { s3: { endpoint: "https://minio.streamstats.internal:9000", bucket: "streamstats-backups" } },
  // The site's kube-prometheus-stack (release "kube-prometheus-stack") picks up every monitor,
  // rule and dashboard; set installStack to have this project install one.
  monitoring: { runbookBaseUrl: "https://git.streamstats.internal/platform/streamstats/-/blob/main/docs/runbooks" },
};
