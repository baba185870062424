import { NamespaceV1 } from "@cdktf/provider-kubernetes/lib/namespace-v1";
import { ResourceQuotaV1 } from "@cdktf/provider-kubernetes/lib/resource-quota-v1";
import { Construct } from "constructs";
import { isDnsLabel } from "../lib/names";

export interface EnvironmentNamespaceProps {
  readonly name: string;
  readonly environment: string;
  readonly tier: string;
  readonly branch: string;
  /**
   * Caps what a preview may take from the shared staging cluster. Omit for no quota.
   * @default no quota
   */
  readonly quota?: { readonly cpu: string; readonly memory: string };
}

/** The namespace an environment's analytics releases live in, labelled for ownership. */
export class EnvironmentNamespace extends Construct {
  readonly namespace: NamespaceV1;
  readonly quota?: ResourceQuotaV1;

  constructor(scope: Construct, id: string, props: EnvironmentNamespaceProps) {
    super(scope, id);
    if (!isDnsLabel(props.name)) throw new Error(`EnvironmentNamespace ${id}: name "${props.name}" is not a DNS-1123 label`);
    this.namespace = new NamespaceV1(this, "namespace", {
      metadata: {
        name: props.name,
        labels: {
          "app.kubernetes.io/part-of": "streamstats",
          "app.kubernetes.io/managed-by": "cdktf",
          "streamstats.io/environment": props.environment,
          "streamstats.io/tier": props.tier,
        },
        // Branch names are not valid label values; an annotation keeps the original.
        annotations: { "streamstats.io/branch": props.branch },
      },
    });
    if (props.quota) {
      this.quota = new ResourceQuotaV1(this, "quota", {
        metadata: { name: "environment-quota", namespace: this.namespace.metadata.name },
        spec: {
          hard: {
            "requests.cpu": props.quota.cpu,
            "requests.memory": props.quota.memory,
            "limits.cpu": props.quota.cpu,
            "limits.memory": props.quota.memory,
            persistentvolumeclaims: "10",
            "services.loadbalancers": "2",
          },
        },
      });
    }
  }

  get name(): string {
    return this.namespace.metadata.name;
  }
}
