import { parse } from "yaml";
import { evaluateTemplate } from "./terraform-template";

/** A sample standing in for every value Terraform computes at apply time. */
const SAMPLE_VALUE = "sample value computed by terraform at apply time\n";

/** A synthesized cloud-config with its Terraform expressions evaluated over sample values. */
export function withSampleValues(document: string): string {
  return evaluateTemplate(document, () => SAMPLE_VALUE);
}

export interface WrittenFile {
  readonly path: string;
  readonly content: string;
  readonly encoding?: string;
  readonly permissions?: string;
}

export function writtenFiles(document: string): WrittenFile[] {
  const parsed = parse(document) as { write_files?: WrittenFile[] };
  return parsed.write_files ?? [];
}

/** Every shell script a cloud-config writes (plain-text files with a sh/bash shebang). */
export function embeddedScripts(document: string): WrittenFile[] {
  return writtenFiles(document).filter((file) => file.encoding === undefined && /^#!\/bin\/(ba)?sh/.test(file.content));
}
