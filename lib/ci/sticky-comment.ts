import { readFileSync } from "node:fs";

/** Marks our comment so the next run edits it instead of adding another. */
export const MARKER = "<!-- streamstats-plan-summary -->";

export interface CommentTarget {
  /** Where the comments live and how to authenticate. */
  readonly kind: "github" | "gitlab";
  readonly listUrl: string;
  readonly headers: Record<string, string>;
}

/**
 * The pull request's (or merge request's) comment API, from the CI's own variables:
 * GitHub (GITHUB_API_URL, GITHUB_REPOSITORY, PR_NUMBER, GITHUB_TOKEN) or GitLab (CI_API_V4_URL,
 * CI_PROJECT_ID, CI_MERGE_REQUEST_IID, GITLAB_TOKEN). Undefined when neither is complete.
 */
export function targetFromEnvironment(env: NodeJS.ProcessEnv): CommentTarget | undefined {
  if (env.GITHUB_TOKEN && env.GITHUB_REPOSITORY && env.PR_NUMBER) {
    const api = env.GITHUB_API_URL ?? "https://api.github.com";
    return {
      kind: "github",
      listUrl: `${api}/repos/${env.GITHUB_REPOSITORY}/issues/${env.PR_NUMBER}/comments`,
      headers: { authorization: `Bearer ${env.GITHUB_TOKEN}`, accept: "application/vnd.github+json" },
    };
  }
  if (env.GITLAB_TOKEN && env.CI_API_V4_URL && env.CI_PROJECT_ID && env.CI_MERGE_REQUEST_IID) {
    return {
      kind: "gitlab",
      listUrl: `${env.CI_API_V4_URL}/projects/${encodeURIComponent(env.CI_PROJECT_ID)}/merge_requests/${env.CI_MERGE_REQUEST_IID}/notes`,
      headers: { "private-token": env.GITLAB_TOKEN },
    };
  }
  return undefined;
}

/** Creates the comment, or edits the one this job wrote before: one comment per pull request. */
export async function upsertComment(target: CommentTarget, markdown: string): Promise<"created" | "updated"> {
  const body = `${MARKER}\n${markdown}`;
  const headers = { ...target.headers, "content-type": "application/json" };
  const existing: Array<{ id: number; body: string }> = [];
  for (let page = 1; page <= 20; page++) {
    const response = await fetch(`${target.listUrl}?per_page=100&page=${page}`, { headers });
    if (!response.ok) throw new Error(`sticky-comment: listing comments answered ${response.status}`);
    const batch = (await response.json()) as Array<{ id: number; body: string }>;
    existing.push(...batch);
    if (batch.length < 100) break;
  }
  const ours = existing.find((comment) => comment.body?.startsWith(MARKER));
  // GitHub edits at /repos/{repo}/issues/comments/{id}; GitLab at …/merge_requests/{iid}/notes/{id}.
  const editUrl = !ours
    ? target.listUrl
    : target.kind === "github"
      ? target.listUrl.replace(/\/issues\/\d+\/comments$/, `/issues/comments/${ours.id}`)
      : `${target.listUrl}/${ours.id}`;
  const response = await fetch(editUrl, {
    method: ours ? (target.kind === "github" ? "PATCH" : "PUT") : "POST",
    headers,
    body: JSON.stringify({ body }),
  });
  if (!response.ok) throw new Error(`sticky-comment: ${ours ? "editing" : "creating"} the comment answered ${response.status}`);
  return ours ? "updated" : "created";
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write("usage: ci:comment <markdown file>\n");
    process.exit(1);
  }
  const target = targetFromEnvironment(process.env);
  const markdown = readFileSync(file, "utf8");
  if (!target) {
    process.stdout.write(`${markdown}\n(no pull-request API in the environment: printed instead of posted)\n`);
  } else {
    upsertComment(target, markdown).then(
      (result) => process.stdout.write(`sticky-comment: ${result} the plan summary comment\n`),
      (error: Error) => {
        process.stderr.write(`${error.message}\n`);
        process.exit(1);
      },
    );
  }
}
