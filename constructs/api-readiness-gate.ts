import { DataHttp } from "@cdktf/provider-http/lib/data-http";
import { HttpProvider } from "@cdktf/provider-http/lib/provider";
import { Fn, type ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import type { ClusterAccess } from "./k3s-cluster";

export interface ApiReadinessGateProps {
  /** The API endpoint and the admin client certificate the deploy uses. */
  readonly access: ClusterAccess;
  /** What must exist before the API can answer: the cluster's VMs. */
  readonly after: ITerraformDependable[];
  /** How many times to retry a refused connection or a not-ready answer. @default 90 */
  readonly attempts?: number;
  /** Longest wait between two tries, in milliseconds. @default 10000 */
  readonly maxDelayMs?: number;
}

/**
 * Waits, inside `cdktf deploy`, until the Kubernetes API answers `/readyz` with "ok": the VMs
 * report an address long before cloud-init has installed k3s. It uses the http provider's own
 * retries (refused connections and 5xx are retried; a wrong certificate fails at once), reads
 * after the VMs because of its dependency, and verifies the API with the cluster CA and the
 * admin client certificate (k3s runs kube-apiserver with anonymous-auth=false).
 */
export class ApiReadinessGate extends Construct {
  readonly readyz: DataHttp;
  /** The API endpoint, known only once /readyz has answered: consumers wait for the gate. */
  readonly readyEndpoint: string;

  constructor(scope: Construct, id: string, props: ApiReadinessGateProps) {
    super(scope, id);
    const attempts = props.attempts ?? 90;
    const maxDelayMs = props.maxDelayMs ?? 10_000;
    if (!Number.isInteger(attempts) || attempts < 1 || attempts > 1000)
      throw new Error(`ApiReadinessGate ${id}: attempts ${attempts} must be a whole number from 1 to 1000`);
    if (!Number.isInteger(maxDelayMs) || maxDelayMs < 1000)
      throw new Error(`ApiReadinessGate ${id}: maxDelayMs ${maxDelayMs} must be a whole number of at least 1000`);
    if (props.after.length === 0) throw new Error(`ApiReadinessGate ${id}: after is empty; the gate would read before the cluster exists`);
    new HttpProvider(this, "http");
    this.readyz = new DataHttp(this, "readyz", {
      url: `${props.access.host}/readyz`,
      caCertPem: props.access.clusterCaCertificate,
      clientCertPem: props.access.clientCertificate,
      clientKeyPem: props.access.clientKey,
      requestTimeoutMs: 10_000,
      retry: { attempts, minDelayMs: 5_000, maxDelayMs },
      dependsOn: props.after,
      lifecycle: {
        postcondition: [
          {
            condition: `\${self.status_code == 200 && trimspace(self.response_body) == "ok"}`,
            errorMessage: "The Kubernetes API did not report ready on /readyz; check k3s on the first server (journalctl -u k3s).",
          },
        ],
      },
    });
    this.readyEndpoint = Fn.trimsuffix(this.readyz.url, "/readyz");
  }
}
