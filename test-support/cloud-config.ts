import { parse } from "yaml";

/** Sample base64 standing in for values Terraform computes at apply time. */
const SAMPLE_BASE64 = Buffer.from("sample value computed by terraform at apply time\n").toString("base64");

/** A synthesized cloud-config with each `${…}` Terraform interpolation replaced by sample base64. */
export function withSampleValues(document: string): string {
  return document.replace(/\$\{[^}]*\}/g, SAMPLE_BASE64);
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
