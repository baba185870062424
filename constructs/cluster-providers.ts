import { HelmProvider } from "@cdktf/provider-helm/lib/provider";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { Construct } from "constructs";
import type { ClusterAccess } from "./k3s-cluster";

export interface ClusterProvidersProps {
  readonly access: ClusterAccess;
}

/** kubernetes and helm providers that authenticate with the same admin client certificate. */
export class ClusterProviders extends Construct {
  readonly kubernetes: KubernetesProvider;
  readonly helm: HelmProvider;

  constructor(scope: Construct, id: string, props: ClusterProvidersProps) {
    super(scope, id);
    const credentials = {
      host: props.access.host,
      clusterCaCertificate: props.access.clusterCaCertificate,
      clientCertificate: props.access.clientCertificate,
      clientKey: props.access.clientKey,
    };
    this.kubernetes = new KubernetesProvider(this, "kubernetes", credentials);
    this.helm = new HelmProvider(this, "helm", { kubernetes: credentials });
  }
}
