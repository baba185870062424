import { Release } from "@cdktf/provider-helm/lib/release";
import { AssetType, TerraformAsset, type ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { stringify } from "yaml";
import { HELM_RELEASE_NAME_MAX, isDnsLabel } from "../lib/names";

/** A chart from a repository, pinned to a version. */
export interface RepositoryChart {
  readonly repository: string;
  readonly chart: string;
  readonly version: string;
}

export interface HelmChartReleaseProps {
  readonly name: string;
  readonly namespace: string;
  /** A pinned repository chart, or a chart directory of this repository (shipped as an asset). */
  readonly chart: RepositoryChart | { readonly directory: string };
  /**
   * Plain values; secrets never go here (they live in Kubernetes Secrets).
   * @default {}
   */
  readonly values?: Record<string, unknown>;
  /**
   * Let Helm create the release namespace.
   * @default false
   */
  readonly createNamespace?: boolean;
  /**
   * Resources the release waits for (CRDs, the namespace, another release).
   * @default none
   */
  readonly dependsOn?: ITerraformDependable[];
}

/**
 * One helm_release. Local charts are copied into the stack's output as a TerraformAsset, so the
 * chart path resolves from cdktf.out/stacks/<id>, where Terraform runs.
 */
export class HelmChartRelease extends Construct {
  readonly release: Release;
  /** The values as passed to the release (for review and for rendering in tests). */
  readonly valuesYaml: string;
  readonly chartDirectory?: string;

  constructor(scope: Construct, id: string, props: HelmChartReleaseProps) {
    super(scope, id);
    if (!isDnsLabel(props.name, HELM_RELEASE_NAME_MAX))
      throw new Error(`HelmChartRelease ${id}: name "${props.name}" is not a DNS label of at most ${HELM_RELEASE_NAME_MAX} characters`);
    if (!isDnsLabel(props.namespace)) throw new Error(`HelmChartRelease ${id}: namespace "${props.namespace}" is not a DNS-1123 label`);
    this.valuesYaml = stringify(props.values ?? {});
    let chartSource: { chart: string; repository?: string; version?: string };
    if ("directory" in props.chart) {
      const directory = resolve(props.chart.directory);
      if (!existsSync(resolve(directory, "Chart.yaml"))) throw new Error(`HelmChartRelease ${id}: ${directory} has no Chart.yaml`);
      this.chartDirectory = directory;
      const asset = new TerraformAsset(this, "chart", { path: directory, type: AssetType.DIRECTORY });
      chartSource = { chart: asset.path };
    } else {
      if (!/^\d+\.\d+\.\d+/.test(props.chart.version))
        throw new Error(`HelmChartRelease ${id}: chart version "${props.chart.version}" must be pinned (x.y.z)`);
      chartSource = { ...props.chart };
    }
    this.release = new Release(this, "release", {
      name: props.name,
      namespace: props.namespace,
      ...chartSource,
      createNamespace: props.createNamespace ?? false,
      values: [this.valuesYaml],
      atomic: true,
      wait: true,
      timeout: 900,
      dependsOn: props.dependsOn,
    });
  }
}
