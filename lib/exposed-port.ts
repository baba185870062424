/**
 * A port a resource opens to clients. Constructs record it in the resource's `//` comment
 * block, which Terraform ignores, so `npm run plan:summary` can list it for reviewers.
 */
export interface ExposedPort {
  readonly port: number;
  readonly protocol: "tcp" | "udp";
  readonly description: string;
}
